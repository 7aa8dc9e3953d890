"""reset.convert: a sinabs model with sinabs' default subtract reset, compiled for loihi2.

The expectation is the float reference run of the subtract-reset model (the model as sinabs
computes it; tests/frontends/test_sinabs.py checks that equality). Agreement is measured on
held-out inputs, not the calibration inputs, with Loihi's bit-exact engine.
"""

from __future__ import annotations

import numpy as np
import pytest

import neurocc
from neurocc.compiler.errors import MappingError, NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.compiler.passes import run_pass
from neurocc.compiler.passes.activity import agreement
from neurocc.sim.result import SimResult

torch = pytest.importorskip("torch")
sinabs = pytest.importorskip("sinabs")

N_IN, N_HIDDEN, N_OUT, STEPS = 20, 30, 5, 40


def subtract_reset_model() -> Graph:
    sl, sa, nn = sinabs.layers, sinabs.activation, torch.nn
    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN, bias=False),
                          sl.LIF(tau_mem=8.0, spike_fn=sa.SingleSpike),  # MembraneSubtract
                          nn.Linear(N_HIDDEN, N_OUT, bias=False),
                          sl.LIF(tau_mem=8.0, spike_fn=sa.SingleSpike))
    rng = np.random.default_rng(3)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(rng.uniform(-0.2, 1.5, (N_HIDDEN, N_IN))))
        model[2].weight.copy_(torch.from_numpy(rng.uniform(-0.2, 0.6, (N_OUT, N_HIDDEN))))
    return neurocc.load(model, input_shape=(N_IN,), dt_s=1e-3)


def spikes(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((16, STEPS, N_IN)) < 0.3).astype(np.uint8)


def counts(graph: Graph, result: SimResult) -> dict[str, np.ndarray]:
    return {n: s.sum(axis=1) for n, s in result.spikes.items() if n not in graph.inputs}


def test_conversion_raises_spike_count_agreement_on_loihi2() -> None:
    graph = subtract_reset_model()
    assert {p.reset for n, p in graph.populations.items() if n not in graph.inputs} == {
        "subtract"}
    with pytest.raises(MappingError, match="subtract"):
        neurocc.compile(graph, "loihi2")  # refused as it is
    held_out = spikes(2)
    wanted = counts(graph, neurocc.simulate(graph, held_out, engine="reference"))
    approximate = neurocc.compile(graph, "loihi2", reset_policy="approximate")
    before = agreement(counts(graph, neurocc.simulate(approximate, held_out, align=True)),
                       wanted)
    converted = run_pass(graph, "reset.convert", {"data": spikes(1)})
    artifact = neurocc.compile(converted, "loihi2")  # no reset policy needed any more
    after = agreement(counts(graph, neurocc.simulate(artifact, held_out, align=True)), wanted)
    assert before < 0.85 and after > before + 0.08
    effect = converted.history[-1].details["effect"]
    assert effect["converted"] == ["1", "3"]
    assert effect["agreement_after"] > effect["agreement_before"] + 0.08
    assert effect["spikes_before"] < effect["spikes_reference"]
    assert abs(effect["spikes_after"] - effect["spikes_reference"]) < abs(
        effect["spikes_before"] - effect["spikes_reference"])
    assert {p.reset for n, p in converted.populations.items() if n not in graph.inputs} == {
        "to_value"}


def test_plain_conversion_is_what_the_approximate_policy_runs() -> None:
    graph = subtract_reset_model()
    plain = run_pass(graph, "reset.convert", {"data": spikes(1), "calibrate": False})
    effect = plain.history[-1].details["effect"]
    assert effect["agreement_after"] == effect["agreement_before"]
    a = neurocc.simulate(neurocc.compile(plain, "loihi2"), spikes(2))
    b = neurocc.simulate(neurocc.compile(graph, "loihi2", reset_policy="approximate"),
                         spikes(2))
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name], b.spikes[name])


def test_conversion_refuses_what_it_cannot_convert() -> None:
    graph = subtract_reset_model()
    with pytest.raises(NeuroccError, match=r"'populations'.*'input' has reset 'none'"):
        run_pass(graph, "reset.convert", {"data": spikes(1), "populations": "input"})
    with pytest.raises(NeuroccError, match=r"option 'data'.*missing"):
        run_pass(graph, "reset.convert", {})
