"""``compile_spinnaker``: quantize, partition and place a graph for a SpiNNaker target.

The artifact's section ``spinnaker`` holds the integer words (keys in ``section.py``); the
layout holds each population's model form, ring-buffer shifts and cores, the resources and
``latency_steps``, and the routing keys and per-chip table sizes (``routing.py``). The float
graph is returned with three history records, ``spinnaker.quantize``, ``spinnaker.map`` (with
the mapping's multicast traffic) and ``spinnaker.route`` (with the spike-hops).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker import routing
from neurocc.backends.spinnaker.mapping import Core, Placement, partition, resources, traffic
from neurocc.backends.spinnaker.quantize import (
    RULES,
    SynapseTable,
    population_words,
    shifts,
    synapse_table,
    weight_record,
    weight_words,
)
from neurocc.backends.spinnaker.section import INPUT_MODEL, SECTION, map_key, proj_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.graph import Graph


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


def _map_arrays(placement: Placement) -> dict[str, np.ndarray]:
    arrays = {}
    for name, core in placement.core_of.items():
        arrays[map_key(name, "core")] = core
        arrays[map_key(name, "slot")] = placement.slot_of[name]
    return arrays


def _unit_rate_costs(graph: Graph, arrays: Mapping[str, np.ndarray], placement: Placement,
                     routes: Mapping[str, Any]) -> dict[str, int]:
    """What one spike of every neuron with targets costs: core deliveries and spike-hops."""
    sends = {n: np.zeros(p.size, dtype=bool) for n, p in graph.populations.items()}
    for name, proj in graph.projections.items():
        sends[proj.source][arrays[proj_key(name, "pre")]] = True
    reach, links = np.asarray(routes["destinations"]), np.asarray(routes["tree_links"])
    cores = [placement.core_of[n][s] for n, s in sends.items()]
    sender_cores = np.concatenate(cores) if cores else np.zeros(0, dtype=np.int64)
    return {"core_deliveries": int(reach[sender_cores].sum()),
            "spike_hops": int(links[sender_cores].sum())}


def compile_spinnaker(graph: Graph, spec: TargetSpec, *, rounding: str = "floor",
                      mapping: str = "traffic") -> Artifact:
    """Compile ``graph`` for the SpiNNaker target ``spec`` (validated by the family schema)."""
    arrays: dict[str, np.ndarray] = {}
    pop_records: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        if pop.model != INPUT_MODEL:
            params, pop_records[name] = population_words(pop, graph.dt_s, spec)
            arrays.update(params)
    tables = {n: synapse_table(graph, p, spec) for n, p in graph.projections.items()}
    found = shifts(graph, tables, spec)
    proj_records = {}
    for name, table in tables.items():
        shift = found[graph.projections[name].target]
        words = weight_words(table, shift, spec)
        arrays.update(_projection_arrays(name, table, words))
        proj_records[name] = weight_record(table, words, shift, spec)
    placement = partition(graph, tables, spec, mapping)
    cores = placement.cores
    arrays.update(_map_arrays(placement))
    synapses = {n: (arrays[proj_key(n, "pre")], arrays[proj_key(n, "post")]) for n in tables}
    routes = routing.route(placement, {n: (p.source, p.target)
                                       for n, p in graph.projections.items()}, synapses, spec)
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
                              shifts=found, populations=pop_records, projections=proj_records)
    graph = graph.with_record("spinnaker.map", mapping=mapping, latency_offsets=offsets,
                              multicast_traffic=traffic(graph, synapses, placement),
                              **{k: v["used"] for k, v in layout["resources"].items()})
    graph = graph.with_record("spinnaker.route", **routing.summary(routes),
                              **_unit_rate_costs(graph, arrays, placement, routes))
    return Artifact(spec.name, "spinnaker", graph, layout, {SECTION: arrays})
