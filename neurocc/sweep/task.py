"""One sweep task: compile one model for one target with one pipeline, bit width and
device seed, run the exact engine on the whole input set, and return its record.

A task is keyed by a content hash of everything that decides its result (the
model's bytes, the resolved target file, the pipeline, the bit width, the seed,
the input's bytes and how many samples), so an interrupted sweep knows what is
already done, and a moved or renamed file that did not change costs nothing.

:func:`run_task` runs on a worker. What every task of a sweep shares (the loaded
graphs, the target files' content, the input set) travels once per worker as a
:class:`SharedData` (see :mod:`neurocc.sweep.cluster`), not once per task.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph

TASK_FORMAT = "neurocc.sweep-task/1"


@dataclass(frozen=True)
class Task:
    """One combination of the sweep's axes (``None``: the target's own value / no seed)."""

    model: str
    target: str
    pipeline: tuple[str, ...]
    weight_bits: int | None
    device_seed: int | None
    key: str = ""

    def describe(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False)
class SharedData:
    """What every task needs, sent to each worker once.

    ``targets`` maps a target as the sweep names it to its file's content (None for a
    packaged target, which every worker has).
    """

    graphs: Mapping[str, Graph]
    targets: Mapping[str, Mapping[str, Any] | None]
    spikes: np.ndarray
    labels: np.ndarray
    align: bool
    cache: dict[str, Any] = field(default_factory=dict)


def task_key(task: Task, fingerprints: Mapping[str, str]) -> str:
    """The content hash of ``task``: ``fingerprints`` holds the hashes of its model, target
    and input (``model:NAME``, ``target:NAME``, ``input``)."""
    payload = {
        "format": TASK_FORMAT,
        "model": fingerprints[f"model:{task.model}"],
        "target": fingerprints[f"target:{task.target}"],
        "input": fingerprints["input"],
        "pipeline": list(task.pipeline),
        "weight_bits": task.weight_bits,
        "device_seed": task.device_seed,
    }
    return hash_json(payload)[:24]


def hash_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def run_task(task: Task, shared: SharedData) -> dict[str, Any]:
    """The task's record: ``status`` ok or error, its row of numbers, its run report."""
    record: dict[str, Any] = {"key": task.key, "task": task.describe(),
                              "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        record.update(status="ok", error=None, **_run(task, shared))
    except NeuroccError as exc:  # the model does not fit, a pass refuses: a result, not a crash
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", row={}, report=None)
    except Exception as exc:  # a bug in one task must not stop the sweep
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", row={}, report=None,
                      traceback=traceback.format_exc())
    return record


def _run(task: Task, shared: SharedData) -> dict[str, Any]:
    from neurocc.api import simulate
    from neurocc.backends import compile_graph
    from neurocc.report import simulation_report

    start = time.perf_counter()
    target = target_for(task, shared)
    artifact = compile_graph(shared.graphs[task.model], target, passes=task.pipeline)
    compiled = time.perf_counter()
    seed = {} if task.device_seed is None else {"seed": task.device_seed}
    result = simulate(artifact, shared.spikes, engine="exact", align=shared.align, **seed)
    done = time.perf_counter()
    report = simulation_report(artifact, result, n_inferences=len(shared.labels))
    row = summary_row(artifact, result.output, shared.labels, report)
    row.update(compile_s=compiled - start, simulate_s=done - compiled)
    return {"row": row, "report": report}


def target_for(task: Task, shared: SharedData) -> Any:
    """The target to compile for: the packaged name, or the file's content rebuilt, with the
    task's weight width applied (:func:`neurocc.backends.with_weight_bits`)."""
    from neurocc.backends import load_target, target_from_content, with_weight_bits

    content = shared.targets.get(task.target)
    spec = load_target(task.target) if content is None else target_from_content(
        content, task.target)
    return spec if task.weight_bits is None else with_weight_bits(spec, task.weight_bits)


def summary_row(artifact: Any, output: np.ndarray, labels: np.ndarray,
                report: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a sweep table shows for one task."""
    from neurocc.demo import accuracy

    n = len(labels)
    graph = artifact.graph
    energy = report.get("energy") or {}
    resources = report.get("resources", {})
    hidden = [name for name in graph.populations if name not in graph.inputs]
    return {
        "accuracy": accuracy(output, labels),
        "energy_per_inference_uj": energy.get("energy_per_inference_uj"),
        "spikes_per_inference": sum(report["spike_counts"].get(p, 0) for p in hidden) / n,
        "synops_per_inference": report["counters"].get("synops", {}).get("per_inference"),
        "synapses": graph.synapse_count(),
        "cores_used": _first_used(resources, ("cores", "tiles")),
    }


def _first_used(resources: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in resources:
            return resources[name].get("used")
    return None
