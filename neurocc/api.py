"""The Python API, mirroring the CLI: load, compile, simulate."""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends import compile_graph
from neurocc.backends.artifact import Artifact, read_artifact, write_artifact
from neurocc.backends.reference import compile_reference
from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph
from neurocc.frontends import load
from neurocc.sim.inputs import check_spikes
from neurocc.sim.result import SimResult

ENGINES = ("exact", "reference")
_REFERENCE_RUNNER = "neurocc.sim.reference:run_graph"
# family -> its exact engine, `module:function(artifact, spikes, **options)`
_EXACT_RUNNERS = {"loihi": "neurocc.sim.loihi:run_artifact"}


def compile(model: Any, target: str | Path = "reference", *, out: str | os.PathLike[str] | None
            = None, **options: Any) -> Artifact:
    """Compile ``model`` (a Graph, a path or a model object) for ``target``.

    With ``out``, the artifact is also written there (atomically).
    """
    graph = model if isinstance(model, Graph) else load(model)
    artifact = compile_graph(graph, target, **options)
    if out is not None:
        artifact = dataclasses.replace(artifact, path=write_artifact(artifact, out))
    return artifact


def _as_artifact(artifact: Artifact | Graph | str | os.PathLike[str]) -> Artifact:
    if isinstance(artifact, Artifact):
        return artifact
    if isinstance(artifact, Graph):
        return compile_reference(artifact)
    return read_artifact(artifact)


def _runner(engine: str, family: str) -> Any:
    if engine not in ENGINES:
        raise SimulationError(f"engine '{engine}'", "is not an engine.",
                              f"Use one of {', '.join(ENGINES)}.")
    spec = _REFERENCE_RUNNER if engine == "reference" else _EXACT_RUNNERS.get(family,
                                                                              _REFERENCE_RUNNER)
    module_name, function_name = spec.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def simulate(artifact: Artifact | Graph | str | os.PathLike[str], spikes: Any, *,
             engine: str = "exact", align: bool = False, record_states: bool = False,
             progress: bool = False) -> SimResult:
    """Run ``artifact`` on ``spikes`` (batch, T, n_in) with the chosen engine.

    ``engine="exact"`` runs the family's bit-accurate engine (the float engine
    for the reference target); ``"reference"`` runs the float graph. With
    ``align``, hardware latency is removed: the input is padded with
    ``latency_steps`` silent steps and the first ``latency_steps`` steps of
    every trace dropped, so step t lines up with step t of the reference.
    """
    art = _as_artifact(artifact)
    data = check_spikes(spikes, art.graph.n_inputs)
    run = _runner(engine, art.family)
    target = art.graph if run.__name__ == "run_graph" else art
    if not align:
        return run(target, data, record_states=record_states, progress=progress)
    latency = int(art.layout.get("latency_steps", 0)) if engine == "exact" else 0
    padded = np.concatenate([data, np.zeros((data.shape[0], latency, data.shape[2]),
                                            dtype=np.uint8)], axis=1)
    result = run(target, padded, record_states=record_states, progress=progress)
    return dataclasses.replace(
        result, latency_steps=0,
        spikes={k: v[:, latency:] for k, v in result.spikes.items()},
        states={k: v[:, latency:] for k, v in result.states.items()})
