"""NIR models with subtractive reset (NIR <= 1.0.5) on the exact SpiNNaker engine: the spike
counts track the float reference (correlation >= 0.95; subtractive reset is native on the ARM
cores, so only the fixed-point arithmetic and the chip's exact-exponential update differ)."""

from __future__ import annotations

import nir
import numpy as np
import pytest

import neurocc
from neurocc.frontends.nir import read_nir

N_IN, N_HIDDEN, N_OUT, STEPS = 40, 60, 12, 60


def neurons(kind: str, n: int, r: float) -> nir.NIRNode:
    if kind == "lif":
        return nir.LIF(tau=np.full(n, 0.02), r=np.full(n, r), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n))
    if kind == "cubalif":
        return nir.CubaLIF(tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.02),
                           r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n),
                           v_reset=np.zeros(n), w_in=np.ones(n))
    return nir.IF(r=np.full(n, r), v_threshold=np.ones(n), v_reset=np.zeros(n))


def subtract_model(kind: str, r: float, seed: int = 0) -> nir.NIRGraph:
    """input -> Affine -> neurons -> Affine -> neurons, written as a NIR 1.0.5 graph."""
    rng = np.random.default_rng(seed)
    nodes = {"input": nir.Input(input_type={"input": np.array([N_IN])}),
             "fc1": nir.Affine(weight=rng.normal(0.5, 1.0, (N_HIDDEN, N_IN)),
                               bias=rng.normal(0.0, 0.5, N_HIDDEN)),
             "l1": neurons(kind, N_HIDDEN, r),
             "fc2": nir.Affine(weight=rng.normal(0.3, 1.0, (N_OUT, N_HIDDEN)),
                               bias=np.zeros(N_OUT)),
             "l2": neurons(kind, N_OUT, r),
             "output": nir.Output(output_type={"output": np.array([N_OUT])})}
    edges = [("input", "fc1"), ("fc1", "l1"), ("l1", "fc2"), ("fc2", "l2"), ("l2", "output")]
    return nir.NIRGraph(nodes, edges, metadata={"nir_version": "1.0.5"}, type_check=False)


@pytest.mark.parametrize(("kind", "r"), [("lif", 1.5), ("cubalif", 1.5), ("if", 60.0)])
def test_spike_counts_track_the_reference_on_subtractive_nir_models(kind: str, r: float
                                                                    ) -> None:
    graph = read_nir(subtract_model(kind, r), dt_s=1e-3)
    assert graph.populations["l1"].reset == graph.populations["l2"].reset == "subtract"
    artifact = neurocc.compile(graph, "spinnaker2")
    spikes = (np.random.default_rng(1).random((20, STEPS, N_IN)) < 0.2).astype(np.uint8)
    lag = artifact.layout["latency_steps"]  # one tick per layer (the chip's minimum delay)
    padded = np.concatenate([spikes, np.zeros((20, lag, N_IN), np.uint8)], axis=1)
    exact = neurocc.simulate(artifact, padded, engine="exact")
    ref = neurocc.simulate(artifact, spikes, engine="reference")
    offsets = artifact.graph.history[-2].details["latency_offsets"]
    for pop in ("l1", "l2"):
        late = offsets[pop]
        chip = exact.spikes[pop][:, late:late + STEPS].sum(axis=1).ravel()
        float_ = ref.spikes[pop].sum(axis=1).ravel()
        assert 5 < float_.mean() < STEPS - 10  # neither silent nor saturated: a real test
        assert np.corrcoef(chip, float_)[0, 1] >= 0.95, pop
