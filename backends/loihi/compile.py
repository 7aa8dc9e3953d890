"""``compile_loihi``: quantize, time, partition and place a graph for a Loihi target.

The artifact follows ``docs/loihi-artifact.md``: section ``loihi`` (written by
``section.write_compiled``, the one owner of its keys) holds the integer arrays, the
layout the processes, cores, timing, resources and the resolved target. The float graph
is returned unchanged except for three records in its history: ``loihi.quantize``,
``loihi.timing`` and ``loihi.map``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

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
    WEIGHT_SCALINGS,
    ProjectionQuant,
    QuantizedNetwork,
    observe_ranges,
    quantize_network,
    source_activity,
)
from neurocc.backends.loihi.section import (
    DELAY_DENSE,
    DELAY_PROCESSES,
    DELAY_SPARSE,
    DENSE,
    SECTION,
    SPARSE,
    write_compiled,
)
from neurocc.backends.loihi.spec import LoihiSpec, load_loihi_target
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Weight

SPIKE_ARRAY_NDIM = 3  # (batch, T, n_inputs)
STAGES = ("quantize", "timing", "map", "section")  # what the progress bar counts


def _mask(mantissa: Weight) -> sp.csr_array:
    """The stored synapses: a sparse mantissa is its own mask (it holds no zeros)."""
    return mantissa if sp.issparse(mantissa) else sp.csr_array(mantissa != 0)


def _process(quant: ProjectionQuant, delay: np.ndarray) -> str:
    """Lava's process for a projection: Sparse ones stay CSR, with their delays too."""
    sparse = sp.issparse(quant.mantissa)
    if delay.size and int(delay.max()) > 0:
        return DELAY_SPARSE if sparse else DELAY_DENSE
    return SPARSE if sparse else DENSE


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


def _placement(graph: Graph, quant: QuantizedNetwork, delays: dict[str, np.ndarray],
               spec: LoihiSpec) -> tuple[dict[str, str], list[Synapses], Placement]:
    """Each projection's Lava process, its synapses, and where every neuron sits."""
    processes = {n: _process(quant.projections[n], delays[n]) for n in graph.projections}
    synapses = [Synapses(n, p.source, p.target, _mask(quant.projections[n].mantissa),
                         quant.projections[n].num_weight_bits
                         + (spec.delay_bits if processes[n] in DELAY_PROCESSES else 0))
                for n, p in graph.projections.items()]
    placement = map_network({n: graph.populations[n].size for n in graph.step_order()},
                            synapses, spec)
    return processes, synapses, placement


def _add_mapping(layout: dict[str, Any], graph: Graph, offsets: dict[str, int],
                 placement: Placement, synapses: list[Synapses], spec: LoihiSpec) -> None:
    """The layout entries of timing and mapping, beside the section's own."""
    for name, entry in layout["populations"].items():
        entry.update(latency_offset=offsets[name],
                     cores=sorted({int(c) for c in placement.core_of[name]}))
    n_neurons = sum(p.size for p in graph.populations.values() if p.model != "input")
    n_synapses = sum(int(s.mask.nnz) for s in synapses)
    layout.update(step_order=graph.step_order(),
                  cores=[core.as_dict() for core in placement.cores],
                  resources=resources(placement, spec, n_neurons, n_synapses))


def compile_loihi(graph: Graph, target: str | Path | LoihiSpec, *, reset_policy: str = "error",
                  calibration_spikes: np.ndarray | None = None,
                  weight_scaling: str = "max", progress: bool = False) -> Artifact:
    """Compile ``graph`` for a Loihi target (packaged name, target-file path or spec);
    ``progress`` shows a bar over the stages (a tqdm bar creates a multiprocessing lock,
    so only on request)."""
    spec = load_loihi_target(target)
    if weight_scaling not in WEIGHT_SCALINGS:
        raise MappingError("option weight_scaling", f"is {weight_scaling!r}.",
                           f"Use one of {list(WEIGHT_SCALINGS)}.")
    observed = _observed(graph, calibration_spikes)
    activity = (None if weight_scaling == "max" else
                source_activity(graph, None if observed is None else calibration_spikes))
    bar = tqdm(total=len(STAGES), desc="loihi compile", unit="stage") if progress else None

    def done(stage: str) -> None:
        if bar is not None:
            bar.set_postfix_str(stage)
            bar.update()

    quant = quantize_network(graph, spec, reset_policy, observed, activity)
    done("quantize")
    offsets, timing = latency_offsets(graph)
    delays, timing_errors = lava_delays(graph, offsets, spec)
    done("timing")
    processes, synapses, placement = _placement(graph, quant, delays, spec)
    done("map")
    notes: list[str] = []
    layout, arrays = write_compiled(graph, quant, placement, delays, processes,
                                    _output_latency(graph, offsets, notes), spec)
    done("section")
    if bar is not None:
        bar.close()
    _add_mapping(layout, graph, offsets, placement, synapses, spec)
    graph = graph.with_record(
        "loihi.quantize", target=spec.name, reset_policy=reset_policy,
        weight_scaling=weight_scaling,
        populations={n: dict(q.record) for n, q in quant.populations.items()},
        projections={n: dict(q.record) for n, q in quant.projections.items()})
    graph = graph.with_record("loihi.timing", latency_offsets=offsets,
                              timing_error_steps=timing_errors, notes=notes, **timing)
    graph = graph.with_record("loihi.map", **layout["resources"])
    return Artifact(spec.name, "loihi", graph, layout, {SECTION: arrays})
