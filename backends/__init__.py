"""Backends: one package per chip family; targets are data files.

A target is either the built-in ``reference`` (no quantization: the float
graph itself) or a YAML target file of a family (``backends/<family>/targets/
NAME.yaml``, or a user's copy given by path). Every target file starts with
``name``, ``family`` and ``description``; the rest is the family's business.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neurocc.backends.artifact import Artifact
from neurocc.compiler.errors import TargetError
from neurocc.compiler.graph import Graph

REFERENCE_TARGET = "reference"
_PACKAGE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class TargetInfo:
    """Where a target comes from: its name, family, file (None for built-ins) and summary."""

    name: str
    family: str
    path: Path | None
    description: str


@dataclass(frozen=True)
class Family:
    """A backend family: how to compile for it (``module:function`` resolved on use)."""

    name: str
    compiler: str

    def compile(self, graph: Graph, target: TargetInfo, **options: Any) -> Artifact:
        module_name, function_name = self.compiler.split(":")
        function: Callable[..., Artifact] = getattr(importlib.import_module(module_name),
                                                    function_name)
        return function(graph, target.path if target.path else target.name, **options)


FAMILIES: dict[str, Family] = {
    f.name: f for f in (
        Family("reference", "neurocc.backends.reference:compile_reference"),
        Family("loihi", "neurocc.backends.loihi.compile:compile_loihi"),
    )
}


def _read_header(path: Path) -> TargetInfo:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TargetError(str(path), f"cannot be read as YAML ({exc}).",
                          "Fix the file or copy a packaged target again.") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str)
                                             for k in ("name", "family", "description")):
        raise TargetError(str(path), "needs string keys 'name', 'family' and 'description' at "
                          "the top.", "Start from a packaged target file (`neurocc targets`).")
    if data["family"] not in FAMILIES:
        raise TargetError(f"{path}: family", f"'{data['family']}' is not a known family.",
                          f"Known families: {', '.join(sorted(FAMILIES))}.")
    return TargetInfo(data["name"], data["family"], path, data["description"])


def list_targets() -> list[TargetInfo]:
    """Every packaged target, the built-in reference first."""
    found = [TargetInfo(REFERENCE_TARGET, "reference", None,
                        "float reference: no quantization, no mapping")]
    for family in sorted(FAMILIES):
        for path in sorted((_PACKAGE_DIR / family / "targets").glob("*.yaml")):
            found.append(_read_header(path))
    return found


def resolve_target(target: str | Path) -> TargetInfo:
    """A packaged target by name, or a target file by path."""
    text = str(target)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise TargetError(text, "target file does not exist.",
                              "Give an existing .yaml file or a name from `neurocc targets`.")
        return _read_header(path)
    for info in list_targets():
        if info.name == text:
            return info
    names = ", ".join(info.name for info in list_targets())
    raise TargetError(f"target '{text}'", "is not a packaged target or a file.",
                      f"Known targets: {names}; or give a path to a target .yaml file.")


def compile_graph(graph: Graph, target: str | Path, **options: Any) -> Artifact:
    """Compile ``graph`` for ``target`` (name or target-file path)."""
    info = resolve_target(target)
    return FAMILIES[info.family].compile(graph, info, **options)
