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
from neurocc.frontends.nir.versions import newer_version_read_as, reset_semantics


def jsonable(value: Any) -> Any:
    """NIR metadata (numpy scalars, bytes, arrays) as plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        item = value.item()  # a long double stays a numpy scalar: keep its text
        return str(item) if isinstance(item, np.generic) else jsonable(item)
    if isinstance(value, bytes):
        return value.decode("utf8", errors="replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_nir(source: str | os.PathLike[str] | nir.NIRGraph, dt_s: float | None = None, *,
             allow_newer_version: bool = False, read_timeout_s: float | None = None) -> Graph:
    """Read and lower a NIR graph; ``dt_s`` overrides the time step stored in the file.

    ``allow_newer_version`` reads a file of a NIR version newer than the reader
    knows with the newest known semantics (recorded as ``nir_version_read_as``
    in the metadata) instead of refusing it. ``read_timeout_s`` bounds the HDF5
    read (default :data:`~.isolation.READ_TIMEOUT_S`, or the environment
    variable ``NEUROCC_NIR_READ_TIMEOUT_S``).
    """
    loaded = load(source, read_timeout_s)
    read_as = newer_version_read_as(loaded.version, loaded.label, allow_newer_version)
    reset = reset_semantics(loaded.version, loaded.label)
    flat = flatten(loaded)
    step_s, dt_source = resolve_dt(dt_s, flat.metadata, loaded.label)
    metadata = {
        "nir_version": loaded.version,
        **({"nir_version_read_as": read_as} if read_as is not None else {}),
        "reset_semantics": reset,
        "source": loaded.label,
        "source_sha256": loaded.sha256,
        "dt_source": dt_source,
        "nir": {"graph_metadata": jsonable(flat.metadata)},
    }
    return lower(flat, loaded, step_s, reset, metadata)
