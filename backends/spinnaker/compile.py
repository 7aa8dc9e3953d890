"""``compile_spinnaker``: quantize, partition and place a graph for a SpiNNaker target.

The artifact's section ``spinnaker`` holds the integer words (keys in ``section.py``); the
layout holds each population's model form, ring-buffer shifts and cores, the resources and
``latency_steps``, and the routing keys and per-chip table sizes (``routing.py``). The float
graph is returned with three history records, ``spinnaker.quantize``, ``spinnaker.map`` and
``spinnaker.route``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker import routing
from neurocc.backends.spinnaker.mapping import Core, partition, resources
from neurocc.backends.spinnaker.quantize import (
    RULES,
    SynapseTable,
    observed_sums,
    population_words,
    shifts,
    synapse_table,
    weight_record,
    weight_words,
    worst_case_sums,
)
from neurocc.backends.spinnaker.section import INPUT_MODEL, SECTION, proj_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError, SimulationError
from neurocc.compiler.graph import Graph
from neurocc.sim.reference import run_graph


def latency_offsets(graph: Graph, spec: TargetSpec) -> dict[str, int]:
    """Ticks each population runs behind the float reference.

    The chip delivers a spike one tick later at the earliest (``delay_min_steps``), so every
    projection with a shorter delay in the graph adds the difference along its path.
    """
    offsets: dict[str, int] = {}
    for name in graph.step_order():
        late = [offsets.get(p.source, 0)
                + max(spec.delay_min_steps - int(p.delay_steps.min(initial=0)), 0)
                for p in graph.incoming(name)]
        offsets[name] = max(late, default=0)
    return offsets


def _population_layout(graph: Graph, found: Mapping[str, list[int]], cores: list[Core]
                       ) -> dict[str, Any]:
    layout: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        rule = RULES.get(pop.model)
        layout[name] = {"model": pop.model, "size": pop.size, "reset": pop.reset,
                        "input": pop.model == INPUT_MODEL, "shifts": found[name],
                        "leaky": bool(rule and rule.tau_mem),
                        "synapse": "exp" if rule and rule.tau_syn else "delta",
                        "cores": [i for i, c in enumerate(cores) if c.population == name]}
    return layout


def _projection_arrays(name: str, table: SynapseTable, words: np.ndarray
                       ) -> dict[str, np.ndarray]:
    keep = words != 0  # a weight rounded to zero is no synapse (counted in the record)
    return {proj_key(name, "post"): table.post[keep], proj_key(name, "pre"): table.pre[keep],
            proj_key(name, "weight"): words[keep],
            proj_key(name, "type"): table.synapse_type[keep],
            proj_key(name, "delay"): table.delay[keep]}


def _slot_sums(graph: Graph, tables: Mapping[str, SynapseTable], weight_scaling: str,
               calibration_spikes: np.ndarray | None) -> dict[str, np.ndarray]:
    """The slot sums the shifts are sized for: worst case, or observed on sample spikes."""
    if weight_scaling == "max":
        return worst_case_sums(graph, tables)
    if weight_scaling != "calibrated":
        raise MappingError("option weight_scaling", f"is {weight_scaling!r}.",
                           "Use 'max' or 'calibrated'.")
    if calibration_spikes is None:
        raise MappingError("option weight_scaling", "is 'calibrated' but no "
                           "calibration_spikes were given.",
                           "Pass sample input spikes (--calibration-spikes FILE.npz).")
    try:
        result = run_graph(graph, np.asarray(calibration_spikes))
    except SimulationError as exc:
        raise MappingError(f"option calibration_spikes: {exc.where}", exc.what,
                           exc.hint) from exc
    return observed_sums(graph, tables, result.spikes)


def compile_spinnaker(graph: Graph, spec: TargetSpec, *, rounding: str = "floor",
                      weight_scaling: str = "max",
                      calibration_spikes: np.ndarray | None = None) -> Artifact:
    """Compile ``graph`` for the SpiNNaker target ``spec`` (validated by the family schema)."""
    arrays: dict[str, np.ndarray] = {}
    pop_records: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        if pop.model != INPUT_MODEL:
            params, pop_records[name] = population_words(pop, graph.dt_s, spec)
            arrays.update(params)
    tables = {n: synapse_table(graph, p, spec) for n, p in graph.projections.items()}
    found = shifts(graph, _slot_sums(graph, tables, weight_scaling, calibration_spikes), spec)
    proj_records = {}
    for name, table in tables.items():
        shift = found[graph.projections[name].target]
        words = weight_words(table, shift, spec)
        arrays.update(_projection_arrays(name, table, words))
        proj_records[name] = weight_record(table, words, shift, spec)
    cores = partition(graph, tables, spec)
    routes = routing.route(cores, {n: (p.source, p.target) for n, p in graph.projections.items()},
                           {n: (arrays[proj_key(n, "pre")], arrays[proj_key(n, "post")])
                            for n in tables}, spec)
    offsets = latency_offsets(graph, spec)
    layout: dict[str, Any] = {"populations": _population_layout(graph, found, cores),
              "projections": {n: {"source": p.source, "target": p.target}
                              for n, p in graph.projections.items()},
              "step_order": graph.step_order(),
              "cores": [dataclasses.asdict(c) for c in cores],
              "routing": routes,
              "resources": {**resources(cores, spec), **routing.resources(routes, spec)},
              "latency_steps": max((offsets[n] for n in graph.outputs), default=0)}
    graph = graph.with_record("spinnaker.quantize", target=spec.name, rounding=rounding,
                              weight_scaling=weight_scaling,
                              shifts=found, populations=pop_records, projections=proj_records)
    graph = graph.with_record("spinnaker.map", latency_offsets=offsets,
                              **{k: v["used"] for k, v in layout["resources"].items()})
    graph = graph.with_record("spinnaker.route", **routing.summary(routes))
    return Artifact(spec.name, "spinnaker", graph, layout, {SECTION: arrays})
