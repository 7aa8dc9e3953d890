"""Reports for people and machines: the one run-report record and artifact summaries.

:func:`simulation_report` builds the record every family's run is described
by (``report.json``; schema :data:`REPORT_SCHEMA`, fields in
``docs/reports.md``): resources against the target's limits, the counters of
the shared vocabulary (``sim/counters.py``) with units, spike counts, and the
family's energy and time per inference with a per-operation breakdown, bounds
and sources (``backends/energy.py``). Energy is priced only for a run of the
family's own exact engine: another engine's counters do not describe the chip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact, read_manifest, to_jsonable
from neurocc.backends.family import FAMILIES, get_family, resolve
from neurocc.sim.counters import COUNTERS, check_counters
from neurocc.sim.result import SimResult

REPORT_SCHEMA = "neurocc.run-report/1"
EXACT_ENGINE = "exact"


def spike_counts(result: SimResult) -> dict[str, int]:
    """Total spikes per population over the batch and all steps."""
    return {name: int(np.sum(value, dtype=np.int64)) for name, value in result.spikes.items()}


def energy(artifact: Artifact, result: SimResult, n_inferences: int,
           engine: str = EXACT_ENGINE) -> dict[str, Any] | None:
    """The family's energy record for this run, or None (no model, or not its exact engine)."""
    model = get_family(artifact.family).energy_model
    if model is None or engine != EXACT_ENGINE or not result.counters:
        return None
    record: dict[str, Any] = resolve(model)(artifact, result.counters, n_inferences)
    return record


def counter_table(counters: Mapping[str, float], n_inferences: int) -> dict[str, Any]:
    """Each counter with its total, per-inference value and unit."""
    return {name: {"total": value, "per_inference": value / n_inferences,
                   "unit": COUNTERS[name].unit} for name, value in counters.items()}


def resource_table(resources: Mapping[str, Any]) -> dict[str, Any]:
    """The artifact's resources with the utilization of each limited one."""
    table = {}
    for name, use in resources.items():
        limit = use.get("limit")
        share = None if not limit else use["used"] / limit
        table[name] = {**use, "utilization": share}
    return table


def simulation_report(artifact: Artifact, result: SimResult, n_inferences: int,
                      engine: str = EXACT_ENGINE) -> dict[str, Any]:
    """The JSON-able run-report record of one simulation (see the module docstring)."""
    check_counters(engine, result.counters)
    steps = result.counters.get("steps")
    report = {
        "schema": REPORT_SCHEMA,
        "target": artifact.target,
        "family": artifact.family,
        "engine": engine,
        "n_inferences": n_inferences,
        "steps_per_inference": None if steps is None else steps / n_inferences,
        "latency_steps": result.latency_steps,
        "resources": resource_table(artifact.layout.get("resources", {})),
        "spike_counts": spike_counts(result),
        "counters": counter_table(result.counters, n_inferences),
        "energy": energy(artifact, result, n_inferences, engine),
    }
    return dict(to_jsonable(report))


def _scalars(details: Mapping[str, Any]) -> str:
    shown = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in details.items()
             if isinstance(v, int | float | str) and not isinstance(v, bool)]
    return ", ".join(shown)


def pipeline_lines(family: str, history: list[dict[str, Any]]) -> list[str]:
    """The passes and lowering stages an artifact went through, with what each did."""
    lowering = FAMILIES[family].lowering if family in FAMILIES else ()
    names = [record["name"] for record in history]
    lines = [f"  pipeline: {' -> '.join(names) or '(none)'}"]
    for record in history:
        kind = "lowering" if record["name"] in lowering else "pass"
        details = record["details"]
        options = _scalars({k: v for k, v in details.get("options", {}).items()
                            if v is not None})
        effect = _scalars(details.get("effect", details))
        lines.append(f"  {kind} {record['name']}" + (f" ({options})" if options else "")
                     + (f": {effect}" if effect else ""))
    return lines


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
        receptor = f" receptor {proj['receptor']}" if proj.get("receptor") else ""
        lines.append(f"  projection {proj['name']}: {proj['source']} -> {proj['target']} "
                     f"{tuple(proj['shape'])}{' sparse' if proj['sparse'] else ''}{receptor}")
    for key, use in manifest["layout"].get("resources", {}).items():
        limit = "" if use.get("limit") is None else f" of {use['limit']}"
        lines.append(f"  resource {key}: {use['used']}{limit} {use.get('unit', '')}".rstrip())
    lines.extend(pipeline_lines(manifest["family"], graph.get("history", [])))
    return "\n".join(lines)
