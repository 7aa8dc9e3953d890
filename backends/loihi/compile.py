"""``compile_loihi``: quantize, time, partition and place a graph for a Loihi target.

The artifact follows ``docs/loihi-artifact.md``: section ``loihi`` holds the integer
arrays (plus ``pop/P/v_scale``, float64: integer v units per model voltage unit, to read
integer ``v`` back in model units), the layout the processes, cores, timing, resources
and the target file's content. The float graph is returned unchanged except for three
records in its history: ``loihi.quantize``, ``loihi.timing`` and ``loihi.map``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.mapping import (
    Placement,
    Synapses,
    latency_offsets,
    lava_delays,
    map_network,
    resources,
)
from neurocc.backends.loihi.quantize import (
    ProjectionQuant,
    QuantizedNetwork,
    observe_ranges,
    quantize_network,
)
from neurocc.backends.loihi.spec import LoihiSpec, load_loihi_target
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph

SECTION = "loihi"
SPIKE_ARRAY_NDIM = 3  # (batch, T, n_inputs)


def _mask(mantissa: np.ndarray | sp.csr_array) -> sp.csr_array:
    return sp.csr_array(sp.csr_array(mantissa) != 0)


def _process(quant: ProjectionQuant, delay: np.ndarray) -> str:
    if delay.size and int(delay.max()) > 0:
        return "DelayDense"
    return "Sparse" if sp.issparse(quant.mantissa) else "Dense"


def _projection_arrays(name: str, quant: ProjectionQuant, delay: np.ndarray,
                       process: str) -> dict[str, np.ndarray]:
    key = f"proj/{name}"
    arrays = {f"{key}/weight_exp": np.array(quant.weight_exp, np.int64),
              f"{key}/num_weight_bits": np.array(quant.num_weight_bits, np.int64),
              f"{key}/delay": delay.astype(np.int64)}
    if process == "Sparse":
        csr = sp.csr_array(quant.mantissa)
        csr.eliminate_zeros()
        arrays.update({f"{key}/weight/data": csr.data.astype(np.int64),
                       f"{key}/weight/indices": csr.indices.astype(np.int64),
                       f"{key}/weight/indptr": csr.indptr.astype(np.int64)})
    else:
        dense = quant.mantissa.toarray() if sp.issparse(quant.mantissa) else quant.mantissa
        arrays[f"{key}/weight"] = np.asarray(dense, np.int64)
    return arrays


def _population_arrays(quant: QuantizedNetwork, placement: Placement) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name, q in quant.populations.items():
        arrays.update({f"pop/{name}/du": np.array(q.du, np.int64),
                       f"pop/{name}/dv": np.array(q.dv, np.int64),
                       f"pop/{name}/vth": np.array(q.vth, np.int64),
                       f"pop/{name}/bias_mant": q.bias_mant.astype(np.int64),
                       f"pop/{name}/bias_exp": q.bias_exp.astype(np.int64),
                       f"pop/{name}/v_scale": q.v_scale.astype(np.float64)})
    for name, cores in placement.core_of.items():
        arrays.update({f"pop/{name}/core": cores.astype(np.int64),
                       f"pop/{name}/msg_per_spike": placement.msg_per_spike[name],
                       f"pop/{name}/hops_ew_per_spike": placement.hops_ew_per_spike[name],
                       f"pop/{name}/hops_ns_per_spike": placement.hops_ns_per_spike[name]})
    return arrays


def _observed(graph: Graph, spikes: np.ndarray | None) -> dict[str, Any] | None:
    if spikes is None:
        return None
    array = np.asarray(spikes, dtype=np.float64)
    if array.ndim != SPIKE_ARRAY_NDIM or array.shape[2] != graph.n_inputs or 0 in array.shape[:2]:
        raise MappingError("option calibration_spikes", f"has shape {array.shape}; expected "
                           f"(batch, T, {graph.n_inputs}).", "Pass sample input spikes.")
    return observe_ranges(graph, array)


def _output_latency(graph: Graph, offsets: dict[str, int], notes: list[str]) -> int:
    found = sorted({offsets[name] for name in graph.outputs})
    if len(found) > 1:
        notes.append(f"outputs appear at different Lava offsets {found}; latency_steps is the "
                     "largest")
    return found[-1] if found else 0


def compile_loihi(graph: Graph, target: str | Path | LoihiSpec, *, reset_policy: str = "error",
                  calibration_spikes: np.ndarray | None = None) -> Artifact:
    """Compile ``graph`` for a Loihi target (packaged name, target-file path or spec)."""
    spec = load_loihi_target(target)
    quant = quantize_network(graph, spec, reset_policy, _observed(graph, calibration_spikes))
    offsets, timing = latency_offsets(graph)
    delays, timing_errors = lava_delays(graph, offsets, spec)
    processes = {n: _process(quant.projections[n], delays[n]) for n in graph.projections}
    synapses = [Synapses(n, p.source, p.target, _mask(quant.projections[n].mantissa),
                         quant.projections[n].num_weight_bits
                         + (spec.delay_bits if processes[n] == "DelayDense" else 0))
                for n, p in graph.projections.items()]
    order = graph.step_order()
    placement = map_network({n: graph.populations[n].size for n in order}, synapses, spec)
    arrays = _population_arrays(quant, placement)
    for name, q in quant.projections.items():
        arrays.update(_projection_arrays(name, q, delays[name], processes[name]))
    notes: list[str] = []
    n_neurons = sum(p.size for p in graph.populations.values() if p.model != "input")
    n_synapses = sum(int(s.mask.nnz) for s in synapses)
    layout = {
        "populations": {n: {"process": "RingBuffer" if p.model == "input" else "LIF",
                            "size": p.size, "latency_offset": offsets[n],
                            "cores": sorted({int(c) for c in placement.core_of[n]})}
                        for n, p in graph.populations.items()},
        "projections": {n: {"process": processes[n], "source": p.source, "target": p.target}
                        for n, p in graph.projections.items()},
        "step_order": order,
        "latency_steps": _output_latency(graph, offsets, notes),
        "cores": [dataclasses.asdict(core) for core in placement.cores],
        "resources": resources(placement, spec, n_neurons, n_synapses),
        "target": spec.to_dict(),
    }
    graph = graph.with_record(
        "loihi.quantize", target=spec.name, reset_policy=reset_policy,
        populations={n: dict(q.record) for n, q in quant.populations.items()},
        projections={n: dict(q.record) for n, q in quant.projections.items()})
    graph = graph.with_record("loihi.timing", latency_offsets=offsets,
                              timing_error_steps=timing_errors, notes=notes, **timing)
    graph = graph.with_record("loihi.map", **layout["resources"])
    return Artifact(spec.name, "loihi", graph, layout, {SECTION: arrays})
