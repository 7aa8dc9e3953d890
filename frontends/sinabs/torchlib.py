"""torch, sinabs and snnTorch on use, and their tensors as float64 numpy arrays.

The libraries are imported by name when a model is lowered, not when neurocc
is imported: torch takes seconds to import, and importing it statically would
make the type checker analyse all of torch (it ships its own types). Their
objects are therefore ``Any`` here.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError

INSTALL_HINTS = {
    "torch": "Install torch==2.13.0 (make setup does).",
    "sinabs": "Install sinabs==3.1.3 with --no-deps (make setup does; see the README).",
    "snntorch": "Install snntorch==1.0.0 with --no-deps (make setup does; see the README).",
}


def library(name: str) -> Any:
    """The module ``name`` (``torch.nn``, ``sinabs.layers``, ...); a FrontendError if missing."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        raise FrontendError(f"package '{top}'", f"cannot be imported ({exc}).",
                            INSTALL_HINTS.get(top, "Install it.")) from exc


def array(value: Any) -> np.ndarray:
    """A tensor, number or None-free sequence as a float64 array (exact: float32 widens)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    return np.array(value, dtype=np.float64)


def class_name(obj: Any) -> str:
    return type(obj).__name__


def qualified_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
