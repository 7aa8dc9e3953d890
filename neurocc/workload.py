"""NeuroBench's model and workload metrics, computed on our graph and a simulation result.

Same definitions as the neurobench 2.3.0 package (``neurobench.metrics``), so the
numbers can be put next to published NeuroBench results (a test checks equality on
an snnTorch model wrapped by neurobench itself):

- ``footprint_bytes``: bytes of the synaptic parameters, float32 (4 bytes) each: every
  stored weight of every projection and the bias of every population that has a nonzero
  one. NeuroBench's ``Footprint`` also counts the framework's neuron-layer buffers
  (snnTorch's ``beta``, ``threshold``, ...), which describe no synaptic memory.
- ``connection_sparsity``: zero weights / all weights over the dense matrices of every
  projection (``ConnectionSparsity``, rounded to 4 decimals as it is).
- ``activation_sparsity``: 1 - spikes / (neurons x steps x samples) over every non-input
  spiking population (``ActivationSparsity``: zero outputs over all outputs of the
  neuron layers).
- ``synaptic_operations``: per inference, ``effective_acs`` = for every binary event a
  projection delivers within the run, the nonzero weights of its source neuron;
  ``effective_macs`` the same for graded events (valued, so a multiply); ``dense`` = steps
  x sum over projections of target x source sizes (``SynapticOperations``: Effective_ACs,
  Effective_MACs, Dense).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurocc.baselines import dense_macs_per_step
from neurocc.compiler.graph import Graph
from neurocc.compiler.neurons import NEURON_MODELS
from neurocc.sim.result import SimResult

BYTES_PER_PARAMETER = 4  # float32, the precision NeuroBench measures a PyTorch model in
SPARSITY_DECIMALS = 4  # neurobench's ConnectionSparsity rounds to 4 decimals


def footprint_bytes(graph: Graph) -> int:
    weights = sum(p.dense_weight().size if not p.is_sparse else int(p.weight.nnz)
                  for p in graph.projections.values())
    biases = sum(pop.size for pop in graph.populations.values()
                 if "bias" in pop.params and np.any(pop.params["bias"] != 0))
    return (weights + biases) * BYTES_PER_PARAMETER


def connection_sparsity(graph: Graph) -> float:
    total = sum(graph.populations[p.target].size * graph.populations[p.source].size
                for p in graph.projections.values())
    nonzero = graph.synapse_count()
    return round((total - nonzero) / total, SPARSITY_DECIMALS) if total else 0.0


def activation_sparsity(graph: Graph, result: SimResult) -> float:
    spiking = [n for n in result.spikes if graph.populations[n].model != "input"]
    total = sum(result.spikes[n].size for n in spiking)
    fired = sum(int(np.count_nonzero(result.spikes[n])) for n in spiking)
    return (total - fired) / total if total else 0.0


def _fan_out(proj: Any) -> np.ndarray:
    """Nonzero synapses per source neuron, without densifying a sparse projection."""
    if not proj.is_sparse:
        return np.count_nonzero(proj.weight, axis=0)
    weight = proj.weight
    return np.bincount(weight.indices[weight.data != 0], minlength=weight.shape[1])


def synaptic_operations(graph: Graph, result: SimResult, n_inferences: int) -> dict[str, float]:
    acs = macs = 0
    steps = 0
    for proj in graph.projections.values():
        spikes = result.spikes.get(proj.source)
        if spikes is None:
            continue
        steps = spikes.shape[1]
        fanout = _fan_out(proj)
        delay = int(np.min(proj.delay_steps))
        delivered = spikes[:, :max(steps - delay, 0)] != 0
        ops = int(delivered.sum(axis=(0, 1), dtype=np.int64) @ fanout)
        if NEURON_MODELS[graph.populations[proj.source].model].event_value:
            macs += ops
        else:
            acs += ops
    dense = dense_macs_per_step(graph) * steps * result.output.shape[0]
    return {"effective_macs": macs / n_inferences, "effective_acs": acs / n_inferences,
            "dense": dense / n_inferences}


def neurobench_metrics(graph: Graph, result: SimResult, n_inferences: int) -> dict[str, Any]:
    """The four NeuroBench metrics of ``result`` (a run of ``graph``), per inference."""
    return {"footprint_bytes": footprint_bytes(graph),
            "connection_sparsity": connection_sparsity(graph),
            "activation_sparsity": activation_sparsity(graph, result),
            "synaptic_operations": synaptic_operations(graph, result, n_inferences)}
