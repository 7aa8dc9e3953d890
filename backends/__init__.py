"""Backends: one package per chip family; targets are data files.

Each family registers one :class:`~neurocc.backends.family.Family` record
(``backends/<family>/family.py``, listed in :data:`BUILTIN_FAMILIES`). A target
is a YAML file of a family (``backends/<family>/targets/NAME.yaml``, or a
user's copy given by path) or the built-in ``reference``. Every function here
dispatches through the registry: nothing below names a family.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurocc.backends.artifact import Artifact
from neurocc.backends.family import FAMILIES, Family, get_family, register_family, resolve
from neurocc.backends.targets import TargetSpec, check_header, parse_target, read_yaml
from neurocc.compiler.errors import MappingError, TargetError
from neurocc.compiler.graph import Graph
from neurocc.compiler.options import build_options, options_record
from neurocc.compiler.passes import run_pipeline

REFERENCE_TARGET = "reference"
# One line per built-in family: the module holding its FAMILY record.
BUILTIN_FAMILIES = (
    "neurocc.backends.reference.family",
    "neurocc.backends.loihi.family",
    "neurocc.backends.spinnaker.family",
    "neurocc.backends.crossbar.family",
)
for _module in BUILTIN_FAMILIES:
    register_family(importlib.import_module(_module).FAMILY)


@dataclass(frozen=True)
class TargetInfo:
    """Where a target comes from: its name, family, file (None for built-ins) and summary.

    ``content`` is the file as parsed (read once; :func:`load_target` validates it).
    """

    name: str
    family: str
    path: Path | None
    description: str
    content: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


def _header(path: Path) -> TargetInfo:
    data = check_header(str(path), read_yaml(path))
    get_family_for_file(path, data["family"])
    return TargetInfo(data["name"], data["family"], path, data["description"], data)


def get_family_for_file(path: Path, name: str) -> Family:
    if name not in FAMILIES:
        raise TargetError(f"{path}: family", f"'{name}' is not a known family.",
                          f"Known families: {', '.join(sorted(FAMILIES))}.")
    return FAMILIES[name]


def list_targets() -> list[TargetInfo]:
    """Every packaged target, the built-in reference first."""
    found = [TargetInfo(REFERENCE_TARGET, REFERENCE_TARGET, None,
                        FAMILIES[REFERENCE_TARGET].description)]
    for name in sorted(FAMILIES):
        found.extend(_header(path) for path in FAMILIES[name].target_files())
    return found


def resolve_target(target: str | Path) -> TargetInfo:
    """A packaged target by name, or a target file by path."""
    text = str(target)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise TargetError(text, "target file does not exist.",
                              "Give an existing .yaml file or a name from `neurocc targets`.")
        return _header(path)
    for info in list_targets():
        if info.name == text:
            return info
    names = ", ".join(info.name for info in list_targets())
    raise TargetError(f"target '{text}'", "is not a packaged target or a file.",
                      f"Known targets: {names}; or give a path to a target .yaml file.")


def load_target(target: str | Path | TargetSpec) -> TargetSpec:
    """The validated spec of a target (name, path, or a spec, returned as it is)."""
    if isinstance(target, TargetSpec):
        return target
    info = resolve_target(target)
    family = get_family(info.family)
    if info.content is None or family.schema is None:
        return TargetSpec(info.name, info.family, info.description, "<built-in>")
    return parse_target(info.content, family.schema, str(info.path))


def target_from_content(content: Mapping[str, Any], label: str) -> TargetSpec:
    """The validated spec of a target file's parsed ``content`` (``label`` names it in
    errors): a user's target sent to another machine as data rather than as a path."""
    data = check_header(label, content)
    family = get_family_for_file(Path(label), data["family"])
    if family.schema is None:
        return TargetSpec(data["name"], data["family"], data["description"], label)
    return parse_target(data, family.schema, label)


def derive_target(target: str | Path | TargetSpec, **values: float) -> TargetSpec:
    """A copy of ``target`` with some entries' values replaced, validated again by its
    family's schema (for sweeps: ``derive_target("loihi2", weight_bits=4)``). The copy is
    named ``NAME+key=value,...`` and each changed entry's source says it was derived."""
    spec = load_target(target)
    family = get_family(spec.family)
    if family.schema is None:
        raise TargetError(f"target '{spec.name}'", "has no target file whose entries could "
                          "be changed.", "Derive from a target of a family with target files.")
    data = spec.to_dict()
    for key, value in values.items():
        section = next((s for s, keys in spec.sections.items() if key in keys), None)
        if section is None:
            raise TargetError(f"target '{spec.name}': key '{key}'", "is not an entry of this "
                              "target.", f"Entries: {', '.join(sorted(spec.entries))}.")
        data[section][key] = {"value": value, "source": f"derived from {spec.name}: "
                              f"{key} = {value} (was {spec.entries[key].value})",
                              "status": "derived"}
    data["name"] = spec.name + "+" + ",".join(f"{k}={v}" for k, v in values.items())
    return parse_target(data, family.schema, f"{spec.path} (derived)")


WEIGHT_BITS_KEY = "weight_bits"  # the entry every family names its stored weight width by


def with_weight_bits(spec: TargetSpec, bits: int) -> TargetSpec:
    """A copy of ``spec`` whose stored weights are ``bits`` wide (its ``weight_bits``
    entry; :func:`derive_target`)."""
    if WEIGHT_BITS_KEY not in spec.entries:
        raise TargetError(f"target '{spec.name}'", f"has no '{WEIGHT_BITS_KEY}' entry to "
                          "change.", "Sweep bit widths only on targets that have one.")
    return derive_target(spec, **{WEIGHT_BITS_KEY: bits})


def target_of(artifact: Artifact) -> TargetSpec:
    """The resolved target an artifact carries (``layout["target"]``), validated again."""
    family = get_family(artifact.family)
    data = artifact.layout.get("target")
    if family.schema is None or data is None:
        return TargetSpec(artifact.target, artifact.family, family.description, "<built-in>")
    return parse_target(data, family.schema, f"artifact '{artifact.target}' target")


def _check_models(graph: Graph, family: Family, spec: TargetSpec) -> None:
    if family.models is None:
        return
    for pop in graph.populations.values():
        if pop.model != "input" and pop.model not in family.models:
            raise MappingError(f"population '{pop.name}' ({pop.model})",
                               f"model '{pop.model}' has no form on target '{spec.name}' "
                               f"(family '{family.name}' maps {', '.join(family.models)}).",
                               "Compile for another target (`neurocc targets`), or replace "
                               "the node in the model.")


def _check_lowering(family: Family, graph: Graph) -> None:
    """A family's compile must record every lowering stage it declares (``neurocc info``)."""
    recorded = [record.name for record in graph.history]
    missing = [stage for stage in family.lowering if stage not in recorded]
    if missing:
        raise MappingError(f"family '{family.name}'", f"declares lowering stages {missing} "
                           "that its compile did not record in the graph history.",
                           "Record each stage with graph.with_record(stage, ...).")


def compile_graph(graph: Graph, target: str | Path | TargetSpec, *,
                  passes: Sequence[str | tuple[str, Mapping[str, Any]]] = (),
                  **options: Any) -> Artifact:
    """Compile ``graph`` for ``target`` (name, target-file path or spec) with family options.

    ``passes`` (spec strings ``NAME:key=value,...`` or (name, options) pairs) run
    in order on the float graph first, seeing the target's facts (``spec.facts()``);
    then the family's lowering runs, and must leave one history record per stage it
    declares.
    """
    spec = load_target(target)
    family = get_family(spec.family)
    chosen = build_options(family.options, options, f"compile for family '{family.name}'")
    graph = run_pipeline(graph, passes, target=spec.facts())
    _check_models(graph, family, spec)
    artifact = resolve(family.compile)(graph, spec, **{f.name: getattr(chosen, f.name)
                                                      for f in dataclasses.fields(chosen)})
    _check_lowering(family, artifact.graph)
    layout = {**artifact.layout, "options": options_record(chosen)}
    if family.schema is not None:
        layout["target"] = spec.to_dict()
    return dataclasses.replace(artifact, layout=layout)

