"""Frontends: lower a model (file or object) to the intermediate graph.

Each frontend is one :class:`Frontend` record in :data:`FRONTENDS` (its own
subpackage holds the code, imported on first use). :func:`load` picks the
frontend from the source: a path by its suffix, an object by its type.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph


@dataclass(frozen=True)
class Frontend:
    """One source of models: file suffixes and object types it reads, and its loader."""

    name: str
    accepts: str  # for people: what to pass
    description: str
    loader: str  # "module:function(source, **options) -> Graph"
    suffixes: tuple[str, ...] = ()
    object_modules: tuple[str, ...] = ()  # objects whose type's module starts with one of these
    object_bases: tuple[str, ...] = ()  # "module.Class": instances of these (a user's subclass)

    def claims(self, source: Any) -> bool:
        """Whether ``source`` (an object) is this frontend's, without importing anything."""
        return self.claims_by_module(source) or any(
            isinstance(source, base) for base in _loaded_classes(self.object_bases))

    def claims_by_module(self, source: Any) -> bool:
        module = type(source).__module__
        return any(module.startswith(prefix) for prefix in self.object_modules)

    def load(self, source: Any, **options: Any) -> Graph:
        module_name, function_name = self.loader.split(":")
        function: Callable[..., Graph] = getattr(importlib.import_module(module_name),
                                                 function_name)
        return function(source, **options)


def _loaded_classes(names: tuple[str, ...]) -> list[type]:
    """The classes named ``module.Class`` whose module is already imported (an object of
    such a class cannot exist otherwise, so nothing is imported here)."""
    found = []
    for name in names:
        module_name, _, class_name = name.rpartition(".")
        module = sys.modules.get(module_name)
        if module is not None and isinstance(getattr(module, class_name, None), type):
            found.append(getattr(module, class_name))
    return found


FRONTENDS: dict[str, Frontend] = {f.name: f for f in (
    Frontend("nir", "a `.nir` file or a `nir.NIRGraph`",
             "NIR, the interchange format SNN frameworks export (options: dt_s, "
             "allow_newer_version, read_timeout_s)",
             "neurocc.frontends.nir:read_nir", (".nir",), ("nir",)),
    Frontend("torch", "a torch.nn.Module of sinabs or snnTorch layers",
             "torch models in memory: sinabs layers lowered directly, snnTorch through its NIR "
             "export (options: input_shape, dt_s)",
             "neurocc.frontends.sinabs:read_module", (), ("torch", "sinabs", "snntorch"),
             ("torch.nn.Module",)),
    Frontend("egru", "an `EgruWeights`, a `neurocc.frontends.egru.torch_model.Egru` module, or, "
             "with frontend='egru', an EGRU state dict or weights `.npz`",
             "EGRU: event-based gated recurrent units with graded events (Subramoney et al. "
             "2023) (options: dt_s, prefix)",
             "neurocc.frontends.egru:load_egru", (), ("neurocc.frontends.egru",)),
    Frontend("lsm", "an `LsmParameters` object",
             "liquid state machine from a recipe (options: LsmParameters fields)",
             "neurocc.frontends.lsm:load_lsm", (), ("neurocc.frontends.lsm",)),
    Frontend("yaml", "a `.yaml` network spec (`kind: network`)",
             "a human-written network spec (options: dt_s, seed)",
             "neurocc.frontends.yaml:read_network_yaml", (".yaml", ".yml")),
)}


def _by_suffix(path: Path) -> Frontend:
    for frontend in FRONTENDS.values():
        if path.suffix.lower() in frontend.suffixes:
            return frontend
    known = sorted(s for f in FRONTENDS.values() for s in f.suffixes)
    raise FrontendError(str(path), f"has suffix '{path.suffix}', which no frontend reads.",
                        f"Supported: {', '.join(known)}.")


def _by_object(source: Any) -> Frontend:
    # the frontend of the object's own package first (an EGRU module is also a torch module)
    for frontend in FRONTENDS.values():
        if frontend.claims_by_module(source):
            return frontend
    for frontend in FRONTENDS.values():
        if frontend.claims(source):
            return frontend
    accepted = "; ".join(f.accepts for f in FRONTENDS.values())
    raise FrontendError(type(source).__name__, "is not a model neurocc can read.",
                        f"Pass {accepted}, or a neurocc Graph.")


def get_frontend(name: str) -> Frontend:
    if name not in FRONTENDS:
        raise FrontendError(f"frontend '{name}'", "is not a frontend.",
                            f"Frontends: {', '.join(FRONTENDS)}.")
    return FRONTENDS[name]


def load(source: Any, *, frontend: str | None = None, **options: Any) -> Graph:
    """Lower ``source`` (a file path, a model object, or a Graph) to a Graph.

    The frontend is chosen by the file's suffix or the object's type, or named
    with ``frontend``; ``options`` go to it (for NIR: ``dt_s``).
    """
    if isinstance(source, Graph):
        return source
    path = Path(source) if isinstance(source, str | os.PathLike) else None
    if frontend is not None:
        return get_frontend(frontend).load(path if path is not None else source, **options)
    if path is not None:
        return _by_suffix(path).load(path, **options)
    return _by_object(source).load(source, **options)
