"""Frontends: lower a model (file or object) to the intermediate graph.

:func:`load` picks the frontend from the source: a path by its suffix, an
object by its type. Each frontend lives in its own subpackage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph


def _read_nir(source: Any, **options: Any) -> Graph:
    from neurocc.frontends.nir import read_nir  # imported late: nir pulls h5py

    return read_nir(source, **options)


# file suffix -> loader; the loaders take the source and the frontend's options
_LOADERS_BY_SUFFIX: dict[str, Callable[..., Graph]] = {".nir": _read_nir}


def _loader_for_object(source: Any) -> Callable[..., Graph] | None:
    if isinstance(source, Graph):
        return lambda graph, **_: graph
    if type(source).__module__.startswith("nir"):
        return _read_nir
    return None


def load(source: Any, **options: Any) -> Graph:
    """Lower ``source`` (a ``.nir`` path, a ``nir.NIRGraph`` or a Graph) to a Graph.

    ``options`` go to the frontend (for NIR: ``dt_s``).
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        loader = _LOADERS_BY_SUFFIX.get(path.suffix.lower())
        if loader is None:
            raise FrontendError(str(path), f"has suffix '{path.suffix}', which no frontend reads.",
                                f"Supported: {', '.join(sorted(_LOADERS_BY_SUFFIX))}.")
        return loader(path, **options)
    loader = _loader_for_object(source)
    if loader is None:
        raise FrontendError(type(source).__name__, "is not a model neurocc can read.",
                            "Pass a .nir file path, a nir.NIRGraph or a neurocc Graph.")
    return loader(source, **options)
