"""A chip family is one record: everything the CLI, API, demo and reports need from it.

A family registers one :class:`Family` (``backends/<family>/family.py``, listed
in :data:`neurocc.backends.BUILTIN_FAMILIES`, or :func:`register_family` for a
plug-in). Nothing outside the family's folder names it: the CLI, the API, the
demo and reports look everything up here. Functions are ``"module:function"``
strings resolved on first use, so registering imports nothing heavy.

Signatures of the functions a record names:

- ``compile(graph, spec, **options) -> Artifact``: ``spec`` the validated
  :class:`~neurocc.backends.targets.TargetSpec`, ``options`` the fields of the
  family's options dataclass;
- ``exact_engine(artifact, spikes, *, record_states, progress, **engine_options)
  -> SimResult``: ``engine_options`` the fields of the family's ``engine_options``
  dataclass (none for a family without one);
- ``energy_model(artifact, counters, n_inferences) -> dict`` (the energy
  record of ``neurocc.report``);
- exporters ``(artifact, out_path) -> Path``; verifiers ``(artifact, spikes)
  -> report`` with ``.identical`` and ``.summary()``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurocc.backends.targets import TargetSchema
from neurocc.compiler.errors import NeuroccError, TargetError


def resource_use(used: float, limit: float | None, unit: str) -> dict[str, Any]:
    """One entry of ``layout["resources"]``, the form every family writes: what the
    compiled network uses of a limit (``limit`` None: the target sets none)."""
    return {"used": used, "limit": limit, "unit": unit}


def resolve(reference: str) -> Callable[..., Any]:
    """The function a ``"module:function"`` string names."""
    module_name, function_name = reference.split(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    return function


@dataclass(frozen=True)
class Tool:
    """An exporter or verifier: the function it runs and one line of help."""

    function: str
    help: str


@dataclass(frozen=True)
class NoOptions:
    """A family whose compile takes no options."""


@dataclass(frozen=True)
class Family:
    """One chip family: compile, targets, engine, energy, exporters, verifiers, artifact.

    ``options`` is a frozen dataclass whose fields are the compile options
    (``metadata["help"]`` documents each; the CLI makes one flag per field).
    ``schema`` is ``None`` for a family without target files (``reference``).
    ``sections`` are the artifact files the family writes (``<name>.npz``) and
    ``lowering`` the stages its compile runs, in order (``neurocc info`` shows
    the records they leave in the history). ``models`` lists the neuron models
    the family maps (``None``: every model); ``demo_target`` the packaged target
    ``neurocc demo`` runs by default. ``engine_options`` is a frozen dataclass of
    the exact engine's run options (``neurocc simulate`` flags; a device seed, a
    non-ideality switch). ``device_seeds`` > 0 says the engine draws device
    randomness from an int option ``seed``: the demo runs that many seeds and
    reports the mean and spread of the accuracy. ``demo_resource`` is the
    resource the demo shows as the units used (``cores``, ``tiles``).
    """

    name: str
    description: str
    compile: str
    options: type = NoOptions
    schema: TargetSchema | None = None
    targets_dir: Path | None = None
    exact_engine: str | None = None
    energy_model: str | None = None
    exporters: Mapping[str, Tool] = field(default_factory=dict)
    verifiers: Mapping[str, Tool] = field(default_factory=dict)
    sections: tuple[str, ...] = ()
    lowering: tuple[str, ...] = ()
    models: tuple[str, ...] | None = None
    demo_target: str | None = None
    engine_options: type = NoOptions
    device_seeds: int = 0
    demo_resource: str = "cores"

    @property
    def seeded_engine(self) -> bool:
        """Whether the exact engine draws device randomness from a ``seed`` option."""
        return any(f.name == "seed" for f in dataclasses.fields(self.engine_options))

    def target_files(self) -> list[Path]:
        if self.targets_dir is None:
            return []
        return sorted(self.targets_dir.glob("*.yaml"))


FAMILIES: dict[str, Family] = {}
CAPABILITIES = {"exact_engine": "an exact engine", "energy_model": "an energy model"}


def register_family(family: Family) -> Family:
    """Add ``family`` to the registry (a second family of the same name is an error)."""
    if family.name in FAMILIES and FAMILIES[family.name] != family:
        raise NeuroccError(f"family '{family.name}'", "is registered twice.",
                           "Give the new family another name.")
    for kind in ("options", "engine_options"):
        if not dataclasses.is_dataclass(getattr(family, kind)):
            raise NeuroccError(f"family '{family.name}'", f"{kind} must be a dataclass type.",
                               "Declare the options as a frozen dataclass.")
    if family.device_seeds and not family.seeded_engine:
        raise NeuroccError(f"family '{family.name}'", f"device_seeds = {family.device_seeds} "
                           "but its engine_options have no field 'seed'.",
                           "Add an int field 'seed' to the engine options, or set "
                           "device_seeds = 0.")
    FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Remove a plug-in family (tests register temporary ones)."""
    FAMILIES.pop(name, None)


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise TargetError(f"family '{name}'", "is not a registered family.",
                          f"Known families: {', '.join(sorted(FAMILIES))}.")
    return FAMILIES[name]


def families_with(capability: str) -> list[str]:
    """Names of the families that fill ``capability`` (an attribute or tool name)."""
    found = []
    for name, family in sorted(FAMILIES.items()):
        value = getattr(family, capability, None)
        if value or capability in family.exporters or capability in family.verifiers:
            found.append(name)
    return found


def require(family: Family, capability: str, what: str) -> str:
    """The family's ``capability`` reference, or an error naming the families that have it."""
    value = getattr(family, capability)
    if value:
        return str(value)
    able = families_with(capability)
    raise NeuroccError(f"family '{family.name}'", f"has no {what}.",
                       f"Families with one: {', '.join(able) or 'none'}; compile for a "
                       "target of one of them.")


def tool(family: Family, kind: str, name: str) -> Tool:
    """The exporter or verifier ``name`` of ``family`` (``kind``: exporters, verifiers)."""
    tools: Mapping[str, Tool] = getattr(family, kind)
    if name in tools:
        return tools[name]
    able = [f for f, fam in sorted(FAMILIES.items()) if name in getattr(fam, kind)]
    noun = kind[:-1]
    raise NeuroccError(f"family '{family.name}'", f"has no {noun} '{name}' (it has "
                       f"{', '.join(sorted(tools)) or 'none'}).",
                       f"Families with {noun} '{name}': {', '.join(able) or 'none'}.")


def demo_targets() -> list[str]:
    """Each family's demo target, the reference family's first."""
    ordered = sorted(FAMILIES.values(), key=lambda f: (f.name != "reference", f.name))
    return [f.demo_target for f in ordered if f.demo_target]
