"""``read_nir``: a ``.nir`` file or ``nir.NIRGraph`` -> verified :class:`Graph`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import nir
import numpy as np

from neurocc.compiler.graph import Graph
from neurocc.frontends.nir.lowering import lower, resolve_dt
from neurocc.frontends.nir.source import flatten, load
from neurocc.frontends.nir.versions import reset_semantics


def jsonable(value: Any) -> Any:
    """NIR metadata (numpy scalars, bytes, arrays) as plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, bytes):
        return value.decode("utf8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_nir(source: str | os.PathLike[str] | nir.NIRGraph, dt_s: float | None = None) -> Graph:
    """Read and lower a NIR graph; ``dt_s`` overrides the time step stored in the file."""
    loaded = load(source)
    reset = reset_semantics(loaded.version, loaded.label)
    flat = flatten(loaded)
    step_s, dt_source = resolve_dt(dt_s, flat.metadata, loaded.label)
    metadata = {
        "nir_version": loaded.version,
        "reset_semantics": reset,
        "source": loaded.label,
        "source_sha256": loaded.sha256,
        "dt_source": dt_source,
        "nir": {"graph_metadata": jsonable(flat.metadata)},
    }
    return lower(flat, loaded, step_s, reset, metadata)
