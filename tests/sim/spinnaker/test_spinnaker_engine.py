"""The exact SpiNNaker engine: a hand-computed s16.15 trace, the float reference within the
quantization bound, and the shipped digits example."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurocc
from neurocc.backends.spinnaker import chip_math
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.demo import EXAMPLE_DIR, EXAMPLE_MODEL

DT_S = 1e-3


def fast_synapse_graph(weight: float) -> Graph:
    """One input neuron onto one lif_cur_exp neuron with tau_syn = 0.3 ms at dt = 1 ms."""
    params = {"tau_mem_s": 0.01, "tau_syn_exc_s": 0.3e-3, "tau_syn_inh_s": 0.3e-3,
              "v_threshold": 100.0}
    pops = {"in": Population("in", "input", (1,)),
            "n": Population("n", "lif_cur_exp", (1,), params, "to_value")}
    proj = Projection("w", "in", "n", np.array([[weight]]), receptor="excitatory")
    return Graph(DT_S, pops, {"w": proj}, ("in",), ("n",))


def hand_trace(weight: float, steps: int) -> tuple[list[int], int]:
    """sPyNNaker's arithmetic written out with Python integers (floor products)."""
    gain = DT_S / 0.3e-3  # the graph's current is a rate: one weight unit is dt/tau_syn on chip
    worst = weight * gain
    shift = math.ceil(math.log2(worst)) + (1 if 2 ** math.ceil(math.log2(worst)) <= worst else 0)
    word = round(worst * 2 ** (15 - shift))
    # the core's load-time constants (their own hand-computed test: test_spinnaker_chip_math)
    syn_decay, syn_init = chip_math.synapse_constants(DT_S, 0.3e-3)
    exp_tc = chip_math.membrane_decay(DT_S, 0.01)
    v, i_exc, trace, first = 0, 0, [], 0
    for t in range(steps):
        if t == 1:  # the spike of tick 0 lands one tick later (minimum delay)
            i_exc += ((word << shift) * syn_init) >> 32
            first = i_exc
        alpha = i_exc
        v = alpha - ((exp_tc * (alpha - v)) >> 15)
        trace.append(v)
        i_exc = (i_exc * syn_decay) >> 32
    return trace, first


def test_fast_synapse_trace_matches_the_hand_computed_integers() -> None:
    weight, steps = 6.0, 6
    artifact = neurocc.compile(fast_synapse_graph(weight), "spinnaker1")
    spikes = np.zeros((1, steps, 1), dtype=np.uint8)
    spikes[0, 0, 0] = 1
    result = neurocc.simulate(artifact, spikes, engine="exact", record_states=True)
    expected, first = hand_trace(weight, steps)
    assert result.states["v/n"][0, :, 0].tolist() == expected
    # only init = (tau/dt)(1 - e^(-dt/tau)) ~ 0.289 of the weight arrives in its first tick
    arrived = first / 2 ** 15 / (DT_S / 0.3e-3)
    assert arrived == pytest.approx(0.289 * weight, rel=2e-3)


def random_if_graph(seed: int) -> Graph:
    """IF neurons (no leak: the chip's update is the reference's) with delays of 1 to 3."""
    rng = np.random.default_rng(seed)
    n_in, n_out = 20, 8
    pops = {"in": Population("in", "input", (n_in,)),
            "out": Population("out", "if", (n_out,), {"v_threshold": 1e3, "r": 50.0,
                                                      "bias": 0.3}, "subtract")}
    weight = rng.normal(0.0, 1.0, (n_out, n_in))
    proj = Projection("w", "in", "out", weight, rng.integers(1, 4, (n_out, n_in)))
    return Graph(DT_S, pops, {"w": proj}, ("in",), ("out",))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engine_matches_the_float_reference_within_the_quantization_bound(seed: int) -> None:
    graph = random_if_graph(seed)
    artifact = neurocc.compile(graph, "spinnaker1")
    spikes = (np.random.default_rng(seed).random((3, 30, 20)) < 0.3).astype(np.uint8)
    exact = neurocc.simulate(artifact, spikes, engine="exact", record_states=True)
    ref = neurocc.simulate(artifact, spikes, engine="reference", record_states=True)
    v_chip = exact.states["v/out"] / 2 ** 15
    resolution = max(artifact.graph.history[-3].details["projections"]["w"]
                     ["resolution"].values())
    # per tick: every synapse rounds by at most half a step, the bias by half an LSB
    per_tick = 20 * resolution / 2 + 2.0 ** -16
    bound = per_tick * np.arange(1, 31)[None, :, None]
    assert np.all(np.abs(v_chip - ref.states["v/out"]) <= bound + 1e-12)


def test_digits_example_is_as_accurate_as_the_reference() -> None:
    graph = neurocc.load(EXAMPLE_MODEL)
    with np.load(EXAMPLE_DIR / "digits_test.npz") as data:
        spikes, labels = data["spikes"], data["labels"]
    artifact = neurocc.compile(graph, "spinnaker2")
    lag = artifact.layout["latency_steps"]
    padded = np.concatenate([spikes, np.zeros((*spikes.shape[:2][:1], lag, spikes.shape[2]),
                                              dtype=np.uint8)], axis=1)
    exact = neurocc.simulate(artifact, padded, engine="exact").output[:, lag:]
    ref = neurocc.simulate(artifact, spikes, engine="reference").output
    acc_exact = float((exact.sum(1).argmax(-1) == labels).mean())
    acc_ref = float((ref.sum(1).argmax(-1) == labels).mean())
    print(f"digits on spinnaker2: exact {acc_exact:.4f}, reference {acc_ref:.4f}")
    assert lag == 2  # one tick per layer: the chip's minimum delay
    assert acc_exact >= acc_ref - 0.02


def refractory_graph(tau_refrac_s: float) -> Graph:
    """One lif_cur_exp neuron driven by its bias hard enough to fire every step."""
    params = {"tau_mem_s": 0.01, "tau_syn_exc_s": 5e-3, "tau_syn_inh_s": 5e-3,
              "v_threshold": 1.0, "bias": 30.0, "tau_refrac_s": tau_refrac_s}
    pops = {"in": Population("in", "input", (1,)),
            "n": Population("n", "lif_cur_exp", (1,), params, "to_value")}
    # delay 1: no latency offset, the chip's neuron starts at tick 0 like the reference's
    proj = Projection("w", "in", "n", np.array([[0.5]]), np.asarray(1), receptor="excitatory")
    return Graph(DT_S, pops, {"w": proj}, ("in",), ("n",))


@pytest.mark.parametrize(("tau_refrac_s", "period"), [(0.0, 1), (0.1e-3, 2), (2e-3, 3)])
def test_refractory_period_freezes_v_for_whole_ticks(tau_refrac_s: float, period: int) -> None:
    steps = 10
    artifact = neurocc.compile(refractory_graph(tau_refrac_s), "spinnaker1")
    silent = np.zeros((1, steps, 1), dtype=np.uint8)
    exact = neurocc.simulate(artifact, silent, engine="exact", record_states=True)
    ref = neurocc.simulate(artifact, silent, engine="reference", record_states=True)
    # by hand: V = alpha - exp_TC (alpha - V) with alpha = 30 (983040) and exp_TC = 29650 gives
    # 93540 >= 32769 in the first free tick; then V = 0 and the timer holds it for
    # ceil(tau_refrac / dt) ticks (0.1 ms: PyNN's default, one tick)
    v_free = 983040 - ((29650 * 983040) >> 15)
    assert v_free == 93540
    fired = [int(t % period == 0) for t in range(steps)]
    assert exact.spikes["n"][0, :, 0].tolist() == fired
    assert exact.states["v/n"][0, :, 0].tolist() == [0] * steps  # reset every spike, frozen
    assert ref.spikes["n"][0, :, 0].tolist() == fired  # the reference's Euler: v = 3.0 > 1


def test_refractory_period_holds_v_between_spikes_in_the_reference() -> None:
    # bias 12: v = 1.2 after one step (fires), frozen 2 steps at 0, then 1.2 again
    graph = refractory_graph(2e-3)
    n = graph.populations["n"]
    params = {**n.params, "bias": np.array([12.0])}
    graph = Graph(DT_S, {**graph.populations, "n": Population("n", "lif_cur_exp", (1,),
                                                               params, "to_value")},
                  graph.projections, ("in",), ("n",))
    ref = neurocc.simulate(neurocc.compile(graph, "spinnaker1"), np.zeros((1, 7, 1), np.uint8),
                           engine="reference", record_states=True)
    assert ref.spikes["n"][0, :, 0].tolist() == [1, 0, 0, 1, 0, 0, 1]
    assert "refractory_steps/n" not in ref.states  # the counter is hidden, v is recorded
    assert ref.states["v/n"][0, :, 0].tolist() == [0.0] * 7


def test_negative_refractory_period_is_refused() -> None:
    from neurocc.compiler.errors import GraphError
    with pytest.raises(GraphError, match="tau_refrac_s' must be >= 0"):
        refractory_graph(-1e-3)


def rounding_errors(rounding: str, seed: int = 0) -> np.ndarray:
    """Errors in LSBs of s16.15 x s16.15 products rounded by the engine's arithmetic."""
    from neurocc.backends import load_target
    from neurocc.sim.spinnaker.engine import Arithmetic
    rng = np.random.default_rng(7)
    a = rng.integers(-2 ** 20, 2 ** 20, 200_000)
    b = rng.integers(0, 2 ** 15, 200_000)
    math_ = Arithmetic.of(load_target("spinnaker1"), rounding, seed)
    return math_.multiply(a, b, 15) - a * b / 2 ** 15


def test_stochastic_rounding_is_unbiased_where_floor_loses_half_an_lsb() -> None:
    floor, nearest = rounding_errors("floor"), rounding_errors("nearest")
    stochastic = rounding_errors("stochastic", seed=1)
    assert floor.mean() == pytest.approx(-0.5, abs=0.01)
    assert abs(nearest.mean()) < 0.01 and abs(stochastic.mean()) < 0.01
    assert floor.min() > -1 and floor.max() <= 0  # floor: always down, less than one LSB
    assert stochastic.min() > -1 and stochastic.max() < 1  # one of the two neighbours
    assert np.abs(stochastic).max() > 0.5  # ...not always the nearest one


def test_stochastic_rounding_is_deterministic_for_a_seed() -> None:
    same = rounding_errors("stochastic", seed=5), rounding_errors("stochastic", seed=5)
    assert np.array_equal(*same)
    assert not np.array_equal(same[0], rounding_errors("stochastic", seed=6))
    graph = fast_synapse_graph(6.0)
    spikes = np.zeros((2, 20, 1), np.uint8)
    spikes[:, ::3] = 1
    runs = [neurocc.simulate(neurocc.compile(graph, "spinnaker1", rounding="stochastic",
                                             rounding_seed=seed), spikes, engine="exact",
                             record_states=True).states["v/n"] for seed in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
