"""Side-by-side runs of one model's artifacts on their targets: the comparison record.

:func:`compare_artifacts` simulates each artifact on its family's exact engine (a
family without one: the float reference, said in the record) and on the float
reference, and returns the ``neurocc.comparison/1`` record (``docs/reports.md``):
per target the run-report record of ``neurocc.report`` (resources, counters,
energy), fidelity against the float reference, NeuroBench metrics, activity
(firing rate per population and step) and the pass history; once, the conventional
baseline (``neurocc.baselines``). Fidelity, for each non-input population:

- spike-count agreement: the fraction of (sample, neuron) pairs whose spike count over
  the run equals the reference's, and the two totals;
- first divergence step: the first step at which any sample's spikes differ from the
  reference's (``None``: identical over the run).

The exact engine runs on the input padded with the artifact's ``latency_steps`` silent
steps; each population's spikes are then taken from the step its pipeline offset says
(the ``latency_offsets`` a compile stage records in the history; ``latency_steps`` for
all when none does), so step t lines up with the reference's step t. Its counters (and
so its energy) cover the whole run, latency steps included.
Nothing here names a family: everything goes through the family registry.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

import neurocc
from neurocc.backends.artifact import Artifact, read_manifest, to_jsonable
from neurocc.backends.family import get_family
from neurocc.baselines import conventional_baseline
from neurocc.compiler.errors import SimulationError
from neurocc.report import EXACT_ENGINE, simulation_report
from neurocc.sim.inputs import check_spikes
from neurocc.sim.result import SimResult
from neurocc.workload import neurobench_metrics

COMPARISON_SCHEMA = "neurocc.comparison/1"
REFERENCE_ENGINE = "reference"


@dataclass(frozen=True)
class TargetRun:
    """One artifact's runs: the record plus the arrays the figures need."""

    directory: str
    artifact: Artifact
    engine: str
    result: SimResult
    reference: SimResult
    record: dict[str, Any]


def predict(output: np.ndarray) -> np.ndarray:
    """Class with the most output spikes (or the largest summed value) per sample."""
    return np.argmax(output.sum(axis=1), axis=1)


def _populations(artifact: Artifact, result: SimResult, reference: SimResult) -> list[str]:
    graph = artifact.graph
    return [n for n in graph.step_order() if graph.populations[n].model != "input"
            and n in result.spikes and n in reference.spikes]


def first_divergence(result: SimResult, reference: SimResult, names: Sequence[str]
                     ) -> int | None:
    """The first step at which any population's spikes differ (None: never)."""
    steps = []
    for name in names:
        a, b = result.spikes[name], reference.spikes[name]
        t = min(a.shape[1], b.shape[1])
        differs = np.any(a[:, :t] != b[:, :t], axis=(0, 2))
        if differs.any():
            steps.append(int(np.argmax(differs)))
    return min(steps) if steps else None


def fidelity(artifact: Artifact, result: SimResult, reference: SimResult,
             labels: np.ndarray | None) -> dict[str, Any]:
    """Accuracy, agreement with the reference's predictions, spike-count agreement, divergence."""
    names = _populations(artifact, result, reference)
    counts = {}
    for name in names:
        ours, theirs = result.spikes[name].sum(axis=1), reference.spikes[name].sum(axis=1)
        counts[name] = {"spikes": int(ours.sum()), "reference_spikes": int(theirs.sum()),
                        "count_agreement": float(np.mean(ours == theirs))}
    predicted, expected = predict(result.output), predict(reference.output)
    record: dict[str, Any] = {
        "prediction_agreement": float(np.mean(predicted == expected)),
        "populations": counts,
        "first_divergence_step": first_divergence(result, reference, names),
        "accuracy": None, "reference_accuracy": None,
    }
    if labels is not None:
        record["accuracy"] = float(np.mean(predicted == labels))
        record["reference_accuracy"] = float(np.mean(expected == labels))
    return record


def rates_hz(artifact: Artifact, result: SimResult) -> dict[str, list[float]]:
    """Mean firing rate per population and step (over samples and neurons), in Hz."""
    dt_s = artifact.graph.dt_s
    return {name: (result.spikes[name].mean(axis=(0, 2)) / dt_s).tolist()
            for name in artifact.graph.step_order() if name in result.spikes}


def _flatten(details: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in details.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, int | float | str | bool) or value is None:
            flat[name] = value
        elif isinstance(value, list | tuple) and len(value) <= 8:
            flat[name] = ", ".join(map(str, value)) if value else ""
    return flat


def pass_history(artifact: Artifact) -> list[dict[str, Any]]:
    """Each pass and lowering stage: its name, kind and what it recorded (options, effect)."""
    lowering = get_family(artifact.family).lowering
    return [{"name": record.name, "kind": "lowering" if record.name in lowering else "pass",
             "details": _flatten(to_jsonable(record.details))}
            for record in artifact.graph.history]


def latency_offsets(artifact: Artifact) -> dict[str, int]:
    """Steps each population runs behind the reference (a compile stage's record)."""
    for record in artifact.graph.history:
        if "latency_offsets" in record.details:
            return {k: int(v) for k, v in record.details["latency_offsets"].items()}
    return {}


def run_exact_aligned(artifact: Artifact, spikes: np.ndarray) -> SimResult:
    """The exact engine's run with every population's spikes lined up with the reference."""
    latency = int(artifact.layout.get("latency_steps", 0))
    steps = spikes.shape[1]
    padded = np.concatenate([spikes, np.zeros((spikes.shape[0], latency, spikes.shape[2]),
                                              dtype=spikes.dtype)], axis=1)
    raw = neurocc.simulate(artifact, padded, engine=EXACT_ENGINE)
    offsets = latency_offsets(artifact)
    return dataclasses.replace(
        raw, latency_steps=0,
        spikes={k: v[:, offsets.get(k, latency):offsets.get(k, latency) + steps]
                for k, v in raw.spikes.items()},
        states={k: v[:, latency:latency + steps] for k, v in raw.states.items()})


def _run_one(directory: str, artifact: Artifact, spikes: np.ndarray,
             labels: np.ndarray | None, references: dict[str, SimResult], bar: tqdm
             ) -> TargetRun:
    family = get_family(artifact.family)
    notes = []
    key = read_manifest(directory)["files"].get("graph.npz", directory)
    if key not in references:  # artifacts of one graph share its float reference run
        references[key] = neurocc.simulate(artifact, spikes, engine=REFERENCE_ENGINE)
    reference = references[key]
    bar.update()
    if family.exact_engine:
        engine = EXACT_ENGINE
        result = run_exact_aligned(artifact, spikes)
    else:
        engine, result = REFERENCE_ENGINE, reference
        notes.append(f"family '{family.name}' has no exact engine: activity and counters are "
                     "the float reference's, no energy is priced")
    bar.update()
    n = spikes.shape[0]
    run = simulation_report(artifact, result, n_inferences=n, engine=engine)
    if family.energy_model is None:
        notes.append(f"family '{family.name}' has no energy model")
    record = {"directory": str(directory), "target": artifact.target, "family": family.name,
              "engine": engine,
              "pipeline_latency_steps": int(artifact.layout.get("latency_steps", 0)),
              "run": run, "fidelity": fidelity(artifact, result, reference, labels),
              "neurobench": neurobench_metrics(artifact.graph, result, n),
              "rates_hz": rates_hz(artifact, result), "history": pass_history(artifact),
              "notes": notes}
    return TargetRun(str(directory), artifact, engine, result, reference, record)


def _check_same_model(directories: Sequence[str], artifacts: Sequence[Artifact]) -> None:
    first = artifacts[0].graph
    for directory, artifact in zip(directories[1:], artifacts[1:], strict=True):
        if artifact.graph.n_inputs != first.n_inputs:
            raise SimulationError(directory, f"takes {artifact.graph.n_inputs} inputs, "
                                  f"{directories[0]} takes {first.n_inputs}.",
                                  "Report artifacts of one model side by side.")


def _label(runs: Sequence[TargetRun]) -> None:
    """Each target's ``label``, unique: its name, else with its directory, else its position."""
    candidates = [
        [run.record["target"] for run in runs],
        [f"{run.record['target']} ({os.path.basename(run.directory)})" for run in runs],
        [f"{run.record['target']} [{i + 1}]" for i, run in enumerate(runs)],
    ]
    for i, run in enumerate(runs):
        run.record["label"] = next(names[i] for names in candidates
                                   if names.count(names[i]) == 1)


def compare_artifacts(directories: Sequence[str | os.PathLike[str]], spikes: np.ndarray,
                      labels: np.ndarray | None = None, *, input_name: str = "",
                      progress: bool = True) -> tuple[dict[str, Any], list[TargetRun]]:
    """The comparison record of ``directories`` on ``spikes`` and the runs behind it."""
    if not directories:
        raise SimulationError("report", "was given no artifact directory.",
                              "Give one or more directories written by `neurocc compile`.")
    names = [str(d) for d in directories]
    artifacts = [neurocc.read_artifact(d) for d in names]
    _check_same_model(names, artifacts)
    data = check_spikes(spikes, artifacts[0].graph.n_inputs)
    if labels is not None and labels.shape != (data.shape[0],):
        raise SimulationError("labels", f"have shape {labels.shape}; expected one label per "
                              f"sample, ({data.shape[0]},).", "Save labels as a 1-D array.")
    references: dict[str, SimResult] = {}
    with tqdm(total=2 * len(directories), desc="report: simulating", unit="run",
              disable=not progress) as bar:
        runs = [_run_one(d, a, data, labels, references, bar)
                for d, a in zip(names, artifacts, strict=True)]
    _label(runs)
    base = runs[0]
    acs = neurobench_metrics(base.artifact.graph, base.reference, data.shape[0])
    record = {
        "schema": COMPARISON_SCHEMA,
        "input": {"name": input_name, "n_inferences": int(data.shape[0]),
                  "steps": int(data.shape[1]), "labels": labels is not None},
        "model": {"source": base.artifact.graph.metadata.get("source", ""),
                  "dt_s": base.artifact.graph.dt_s,
                  "populations": {n: p.size for n, p in base.artifact.graph.populations.items()}},
        "reference_neurobench": acs,
        "baseline": conventional_baseline(base.artifact.graph, data.shape[1],
                                          acs["synaptic_operations"]["effective_acs"]),
        "targets": [run.record for run in runs],
    }
    return dict(to_jsonable(record)), runs
