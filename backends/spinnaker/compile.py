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
from tqdm import tqdm

from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker import delays, graded, kernels, routing
from neurocc.backends.spinnaker.mapping import (
    TRAFFIC_MAX_SYNAPSES,
    Core,
    Placement,
    partition,
    resources,
    total_cores,
    traffic,
)
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
from neurocc.backends.spinnaker.section import INPUT_MODEL, SECTION, map_key, proj_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError, SimulationError
from neurocc.compiler.graph import Graph
from neurocc.sim.reference import run_graph


def _shortest(delay_steps: np.ndarray) -> int:
    """The shortest delay of a projection (min(initial=0) would always give 0)."""
    return int(delay_steps.min()) if delay_steps.size else 0


def latency_offsets(graph: Graph, spec: TargetSpec) -> dict[str, int]:
    """Ticks each population runs behind the float reference.

    The chip delivers a spike one tick later at the earliest (``delay_min_steps``), so every
    projection with a shorter delay in the graph adds the difference along its path.
    """
    offsets: dict[str, int] = {}
    for name in graph.step_order():
        late = [offsets.get(p.source, 0)
                + max(spec.delay_min_steps - _shortest(p.delay_steps), 0)
                for p in graph.incoming(name)]
        offsets[name] = max(late, default=0)
    return offsets


def _population_layout(graph: Graph, found: Mapping[str, list[int]], cores: list[Core]
                       ) -> dict[str, Any]:
    layout: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        rule = RULES.get(pop.model)
        layout[name] = {"model": pop.model, "size": pop.size, "reset": pop.reset,
                        "kind": pop.model if graded.is_graded(pop) else "lif",
                        "input": pop.model == INPUT_MODEL, "shifts": found[name],
                        "leaky": bool(rule and rule.tau_mem),
                        "synapse": "exp" if rule and rule.tau_syn else "delta",
                        "cores": [i for i, c in enumerate(cores) if c.population == name]}
    return layout


def _projection_arrays(name: str, table: SynapseTable, words: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """The section arrays of a projection: its synapses whose word is nonzero (a weight
    rounded to zero is no synapse; the record counts it). The table's own arrays are
    compacted in place (no copy per synapse), so the table is spent afterwards."""
    fields = {"post": table.post, "pre": table.pre, "type": table.synapse_type,
              "delay": table.delay, "stage": table.stage}
    kept = int(np.count_nonzero(words))
    if kept < words.size:
        for key, values in fields.items():  # broadcast (one-delay) arrays are read-only
            fields[key] = (values[:kernels.compact(values, words)] if values.flags.writeable
                           else values[:kept])
        words = words[:kernels.compact(words, words)]
    return {proj_key(name, "weight"): words,
            **{proj_key(name, k): v for k, v in fields.items()}}


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


def _with_extensions(graph: Graph, placement: Placement, arrays: Mapping[str, np.ndarray],
                     spec: TargetSpec) -> tuple[Placement, dict[str, tuple[str, str]],
                                                dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The placement with the delay-extension cores added (each holds its source core's
    neurons in the same slots), and the (pseudo-)projections to route: a delayed synapse goes
    source -> extension (same atoms) -> target."""
    cores = placement.cores
    routes = {n: (p.source, p.target) for n, p in graph.projections.items()}
    synapses = {}
    delayed: dict[str, int] = {}
    for name, proj in graph.projections.items():
        pre, post, stage = (arrays[proj_key(name, k)] for k in ("pre", "post", "stage"))
        if not stage.size or int(stage.max()) == 0:  # no delayed synapse: no copies
            synapses[name] = (pre, post)
            continue
        late = stage > 0
        synapses[name] = (pre[~late], post[~late])
        if late.any():
            delayed[proj.source] = max(delayed.get(proj.source, 0), int(stage.max()))
            extension = delays.extension_name(proj.source)
            routes[f"{name}{delays.EXTENSION_SUFFIX}"] = (extension, proj.target)
            synapses[f"{name}{delays.EXTENSION_SUFFIX}"] = (pre[late], post[late])
            routes[f"{extension}/in/{name}"] = (proj.source, extension)
            synapses[f"{extension}/in/{name}"] = (np.unique(pre[late]), np.unique(pre[late]))
    added, core_of = delays.extension_cores(delayed, placement, spec)
    if len(cores) + len(added) > total_cores(spec):
        raise MappingError(f"target '{spec.name}'", f"the network needs {len(cores)} neuron "
                           f"cores and {len(added)} delay-extension cores, above the limit of "
                           f"{total_cores(spec)}.", "Shorten the long delays, or compile for "
                           "a larger target (a copy of the target file with a bigger mesh).")
    slot_of = {**placement.slot_of, **{delays.extension_name(p): placement.slot_of[p]
                                       for p in delayed}}
    return (Placement(cores + added, {**placement.core_of, **core_of}, slot_of), routes,
            synapses)


def _graded_tables(graph: Graph, spec: TargetSpec, arrays: dict[str, np.ndarray],
                   found: dict[str, list[int]]) -> tuple[dict[str, SynapseTable],
                                                         dict[str, Any]]:
    """Words of the projections into egru / integrator cores (``graded.py``), their tables
    for the partitioner and their history records."""
    targets = [n for n, p in graph.populations.items() if graded.is_graded(p)]
    tables, records = {}, {}
    for name in targets:
        weights = {j: p.coo()[2] for j, p in graph.projections.items() if p.target == name}
        found[name] = graded.receptor_shifts(graph, name, weights, spec)
        for j in weights:
            words = graded.weight_words(graph.projections[j], graph, found[name], spec)
            arrays.update({proj_key(j, k): v for k, v in words.items()})
            tables[j] = SynapseTable(words["post"], words["pre"], np.abs(words["weight"]),
                                     words["type"], words["delay"], words["stage"])
            receptor = graph.receptor_of(graph.projections[j])
            shift = found[name][int(words["type"][0])] if words["type"].size else 0
            records[j] = {"synapses": int(words["weight"].size),
                          "lost_to_zero": int(np.count_nonzero(weights[j])
                                              - words["weight"].size),
                          "resolution": {receptor: 2.0 ** -graded.word_fraction_bits(spec,
                                                                                      shift)}}
    if any(graph.populations[n].model == "egru" for n in targets):
        arrays[graded.TABLE_KEY] = graded.gate_table(spec)
    return tables, records


def _slot_sums(graph: Graph, tables: Mapping[str, SynapseTable], weight_scaling: str,
               calibration_spikes: np.ndarray | None, spec: TargetSpec
               ) -> dict[str, np.ndarray]:
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
    # the observed sums need each synapse's whole delay: extension stages plus on-core residual
    whole = {n: dataclasses.replace(t, delay=t.delay + t.stage * spec.delay_max_on_core_steps,
                                    stage=np.zeros_like(t.stage)) for n, t in tables.items()}
    return observed_sums(graph, whole, result.spikes)


def chosen_mapping(requested: str, synapse_count: int, traffic_max_synapses: int) -> str:
    """The mapping that runs: ``auto`` partitions by traffic while the network is small
    enough for the partitioner's cost (see the option's help), sequentially above."""
    if requested != "auto":
        return requested
    return "traffic" if synapse_count <= traffic_max_synapses else "sequential"


STAGES = ("synapse tables", "quantize", "partition", "sections", "delay extensions",
          "routing", "layout")  # what the progress bar counts


def compile_spinnaker(graph: Graph, spec: TargetSpec, *, rounding: str = "floor",
                      rounding_seed: int = 0, weight_scaling: str = "max",
                      calibration_spikes: np.ndarray | None = None,
                      mapping: str = "auto", traffic_max_synapses: int = TRAFFIC_MAX_SYNAPSES,
                      progress: bool = False) -> Artifact:
    """Compile ``graph`` for the SpiNNaker target ``spec`` (validated by the family schema);
    ``progress`` shows a bar over ``STAGES`` (a tqdm bar creates a multiprocessing lock,
    so only on request)."""
    graded.check_targets(graph)
    bar = tqdm(total=len(STAGES), desc="spinnaker compile", unit="stage") if progress else None

    def done(stage: str) -> None:
        if bar is not None:
            bar.set_postfix_str(stage)
            bar.update()

    arrays: dict[str, np.ndarray] = {}
    pop_records: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        if pop.model != INPUT_MODEL:
            encode = graded.population_words if graded.is_graded(pop) else population_words
            params, pop_records[name] = encode(pop, graph.dt_s, spec)
            arrays.update(params)
    into_graded = {n for n, p in graph.projections.items()
                   if graded.is_graded(graph.populations[p.target])}
    tables = {n: synapse_table(graph, p, spec) for n, p in graph.projections.items()
              if n not in into_graded}
    done("synapse tables")
    found = shifts(graph, _slot_sums(graph, tables, weight_scaling, calibration_spikes, spec),
                   spec)
    proj_records, words = {}, {}
    for name, table in tables.items():
        shift = found[graph.projections[name].target]
        words[name] = weight_words(table, shift, spec)
        proj_records[name] = weight_record(table, words[name], shift, spec)
        # the magnitudes are spent: free them before the partition (8 bytes per synapse)
        tables[name] = dataclasses.replace(table, magnitude=np.zeros(0))
    graded_tables, graded_records = _graded_tables(graph, spec, arrays, found)
    proj_records.update(graded_records)
    done("quantize")
    synapse_count = (sum(int(np.count_nonzero(w)) for w in words.values())
                     + sum(int(t.pre.size) for t in graded_tables.values()))
    mapping = chosen_mapping(mapping, synapse_count, traffic_max_synapses)
    # the partition counts every synapse of the tables (a zero word's row too)
    placement = partition(graph, {n: {**tables, **graded_tables}[n] for n in graph.projections},
                          spec, mapping)
    done("partition")
    for name in list(tables):
        arrays.update(_projection_arrays(name, tables.pop(name), words.pop(name)))
    done("sections")
    direct = {n: (arrays[proj_key(n, "pre")], arrays[proj_key(n, "post")])
              for n in graph.projections}
    placement, pairs, synapses = _with_extensions(graph, placement, arrays, spec)
    cores = placement.cores
    arrays.update(_map_arrays(placement))
    done("delay extensions")
    routes = routing.route(placement, pairs, synapses, spec)
    done("routing")
    offsets = latency_offsets(graph, spec)
    populations = _population_layout(graph, found, cores)
    for name, entry in populations.items():
        entry["start_tick"] = offsets[name]  # the core starts when its first input can arrive
    layout: dict[str, Any] = {"populations": populations,
              "projections": {n: {"source": p.source, "target": p.target}
                              for n, p in graph.projections.items()},
              "step_order": graph.step_order(),
              "delay_stage_steps": int(spec.delay_max_on_core_steps),
              "cores": [dataclasses.asdict(c) for c in cores],
              "routing": routes,
              "resources": {**resources(cores, spec), **routing.resources(routes, spec)},
              "latency_steps": max((offsets[n] for n in graph.outputs), default=0)}
    graph = graph.with_record("spinnaker.quantize", target=spec.name, rounding=rounding,
                              rounding_seed=rounding_seed, weight_scaling=weight_scaling,
                              shifts=found, populations=pop_records, projections=proj_records)
    graph = graph.with_record("spinnaker.map", mapping=mapping, synapses=synapse_count,
                              traffic_max_synapses=traffic_max_synapses,
                              latency_offsets=offsets,
                              multicast_traffic=traffic(graph, direct, placement),
                              delay_extension_cores=sum(c.population.endswith(
                                  delays.EXTENSION_SUFFIX) for c in cores),
                              **{k: v["used"] for k, v in layout["resources"].items()})
    graph = graph.with_record("spinnaker.route", **routing.summary(routes),
                              **_unit_rate_costs(graph, arrays, placement, routes))
    done("layout")
    if bar is not None:
        bar.close()
    return Artifact(spec.name, "spinnaker", graph, layout, {SECTION: arrays})
