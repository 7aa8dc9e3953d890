"""Reports for people and machines: artifact summaries and per-run reports."""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact, read_manifest, to_jsonable
from neurocc.sim.result import SimResult

# family -> `module:function(artifact, counters, n_inferences) -> dict` pricing the counters
_ENERGY_MODELS = {"loihi": "neurocc.backends.loihi.energy:energy_for_artifact"}


def spike_counts(result: SimResult) -> dict[str, int]:
    """Total spikes per population over the batch and all steps."""
    return {name: int(np.sum(value, dtype=np.int64)) for name, value in result.spikes.items()}


def energy(artifact: Artifact, result: SimResult, n_inferences: int) -> dict[str, Any] | None:
    """The family's energy report for these counters, or None where no model exists."""
    spec = _ENERGY_MODELS.get(artifact.family)
    if spec is None or not result.counters:
        return None
    module_name, function_name = spec.split(":")
    model = getattr(importlib.import_module(module_name), function_name)
    return model(artifact, result.counters, n_inferences)


def simulation_report(artifact: Artifact, result: SimResult, n_inferences: int) -> dict[str, Any]:
    """JSON-able report of one simulation: spikes, counters, energy per inference."""
    report = {
        "target": artifact.target,
        "family": artifact.family,
        "n_inferences": n_inferences,
        "latency_steps": result.latency_steps,
        "spike_counts": spike_counts(result),
        "counters": dict(result.counters),
        "resources": artifact.layout.get("resources", {}),
        "energy": energy(artifact, result, n_inferences),
    }
    return to_jsonable(report)


def artifact_summary(directory: str | os.PathLike[str]) -> str:
    """A few readable lines about the artifact in ``directory``."""
    manifest = read_manifest(directory)
    graph = manifest["graph"]
    lines = [f"artifact {directory}: target {manifest['target']} (family {manifest['family']}), "
             f"format {manifest['format_version']}, dt {graph['dt_s']:g} s"]
    source = graph["metadata"].get("source")
    if source:
        lines.append(f"  source: {source} (nir {graph['metadata'].get('nir_version', '?')})")
    lines.append(f"  inputs: {', '.join(graph['inputs'])}; outputs: {', '.join(graph['outputs'])}")
    for pop in graph["populations"]:
        lines.append(f"  population {pop['name']}: {pop['model']} x {int(np.prod(pop['shape']))}"
                     f" (reset {pop['reset']})")
    for proj in graph["projections"]:
        lines.append(f"  projection {proj['name']}: {proj['source']} -> {proj['target']} "
                     f"{tuple(proj['shape'])}{' sparse' if proj['sparse'] else ''}")
    for key, value in manifest["layout"].get("resources", {}).items():
        lines.append(f"  resource {key}: {value}")
    for record in graph.get("history", []):
        lines.append(f"  pass {record['name']}")
    return "\n".join(lines)
