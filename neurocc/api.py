"""The Python API, mirroring the CLI: load, compile, simulate."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends import compile_graph
from neurocc.backends.artifact import Artifact, read_artifact, write_artifact
from neurocc.backends.family import get_family, require, resolve
from neurocc.backends.reference import compile_reference
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph
from neurocc.compiler.options import build_options
from neurocc.frontends import load
from neurocc.sim.counters import check_counters
from neurocc.sim.inputs import check_spikes
from neurocc.sim.reference import run_artifact as run_reference
from neurocc.sim.result import SimResult

ENGINES = ("exact", "reference")


def compile(model: Any, target: str | Path | TargetSpec = "reference", *,
            out: str | os.PathLike[str] | None = None,
            passes: Sequence[str | tuple[str, Mapping[str, Any]]] = (),
            **options: Any) -> Artifact:
    """Compile ``model`` (a Graph, a path or a model object) for ``target``.

    ``passes`` run first, in order (``"prune.magnitude:fraction=0.5"`` or
    ``("prune.magnitude", {"fraction": 0.5})``; ``neurocc passes`` lists them);
    ``options`` are the target family's compile options. With ``out``, the
    artifact is also written there (atomically).
    """
    graph = model if isinstance(model, Graph) else load(model)
    artifact = compile_graph(graph, target, passes=passes, **options)
    if out is not None:  # a family's ``progress`` option also shows the write
        artifact = dataclasses.replace(artifact, path=write_artifact(
            artifact, out, progress=bool(options.get("progress", False))))
    return artifact


def _as_artifact(artifact: Artifact | Graph | str | os.PathLike[str]) -> Artifact:
    if isinstance(artifact, Artifact):
        return artifact
    if isinstance(artifact, Graph):
        return compile_reference(artifact)
    return read_artifact(artifact)


def _runner(engine: str, family_name: str) -> Callable[..., SimResult]:
    """The engine's run function: the family's exact engine, or the float reference."""
    if engine not in ENGINES:
        raise SimulationError(f"engine '{engine}'", "is not an engine.",
                              f"Use one of {', '.join(ENGINES)}.")
    if engine == "reference":
        return run_reference
    family = get_family(family_name)
    return resolve(require(family, "exact_engine", "exact engine"))


def _engine_options(engine: str, family_name: str, given: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """The exact engine's run options of the family, checked (none for the reference)."""
    if not given:
        return {}
    if engine != "exact":
        raise SimulationError(f"engine '{engine}'", f"takes no engine options (got "
                              f"{sorted(given)}).", "Pass engine options with engine='exact'.")
    family = get_family(family_name)
    chosen = build_options(family.engine_options, given, f"engine of family '{family.name}'")
    return {f.name: getattr(chosen, f.name) for f in dataclasses.fields(chosen)}


def _checked(engine: str, result: SimResult) -> SimResult:
    check_counters(engine, result.counters)  # one vocabulary, or reports cannot compare
    return result


def simulate(artifact: Artifact | Graph | str | os.PathLike[str], spikes: Any, *,
             engine: str = "exact", align: bool = False, record_states: bool = False,
             progress: bool = False, **engine_options: Any) -> SimResult:
    """Run ``artifact`` on ``spikes`` (batch, T, n_in) with the chosen engine.

    ``engine="exact"`` runs the family's bit-accurate engine (the float engine
    for the reference target; a family without one is an error naming those
    that have one, never a fallback); ``"reference"`` runs the float graph. With
    ``align``, hardware latency is removed: the input is padded with
    ``latency_steps`` silent steps and the first ``latency_steps`` steps of
    every trace dropped, so step t lines up with step t of the reference.
    ``engine_options`` are the exact engine's run options of the artifact's
    family (its ``engine_options`` dataclass: for example a device ``seed``).
    """
    art = _as_artifact(artifact)
    data = check_spikes(spikes, art.graph.n_inputs)
    run = _runner(engine, art.family)
    extra = _engine_options(engine, art.family, engine_options)
    if not align:
        return _checked(engine, run(art, data, record_states=record_states, progress=progress,
                                    **extra))
    latency = int(art.layout.get("latency_steps", 0)) if engine == "exact" else 0
    padded = np.concatenate([data, np.zeros((data.shape[0], latency, data.shape[2]),
                                            dtype=np.uint8)], axis=1)
    result = _checked(engine, run(art, padded, record_states=record_states, progress=progress,
                                  **extra))
    return dataclasses.replace(
        result, latency_steps=0,
        spikes={k: v[:, latency:] for k, v in result.spikes.items()},
        states={k: v[:, latency:] for k, v in result.states.items()})
