"""Wiring semantics of the float reference engine: delays, order, fan-in, sparsity, batch,
counters, and the errors it raises on bad inputs."""

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.reference import engine as reference_engine
from neurocc.sim.reference import run_graph

DT_S = 2.0**-10
TAU_S = 4 * DT_S  # dt/tau = 0.25


def pop(name: str, model: str, size: int, reset: str = "none", **params) -> Population:
    return Population(name, model, (size,), params, reset=reset)


def proj(source: str, target: str, weight, delay=0) -> Projection:
    return Projection(f"{source}_{target}", source, target, weight,
                      np.asarray(delay, dtype=np.int64))


def graph(pops: list[Population], projs: list[Projection], inputs=("in",), outputs=()) -> Graph:
    return Graph(DT_S, {p.name: p for p in pops}, {p.name: p for p in projs}, inputs, outputs)


def single_input(train: list[int]) -> np.ndarray:
    return np.array(train, dtype=np.uint8).reshape(1, -1, 1)


# -- delays and order ------------------------------------------------------------------------
def delayed_fanout(weight, delays) -> Graph:
    return graph([pop("in", "input", 1), pop("out", "output", 3)],
                 [proj("in", "out", weight, delays)], outputs=("out",))


def expected_arrivals(n_steps: int, arrivals: dict[int, int]) -> np.ndarray:
    """v of the output neurons: 1 at the step each one receives the spike, else 0."""
    v = np.zeros((n_steps, 3))
    for neuron, step in arrivals.items():
        v[step, neuron] = 1.0
    return v


def test_per_synapse_dense_delays_arrive_exactly_d_steps_later():
    g = delayed_fanout(np.ones((3, 1)), np.array([[0], [2], [5]]))
    result = run_graph(g, single_input([0, 1, 0, 0, 0, 0, 0, 0]))
    np.testing.assert_array_equal(result.states["v/out"][0],
                                  expected_arrivals(8, {0: 1, 1: 3, 2: 6}))


def test_per_entry_sparse_delays_arrive_exactly_d_steps_later():
    g = delayed_fanout(sp.csr_array(np.ones((3, 1))), np.array([4, 0, 1]))
    result = run_graph(g, single_input([1, 0, 0, 0, 0, 0]))
    np.testing.assert_array_equal(result.states["v/out"][0],
                                  expected_arrivals(6, {0: 4, 1: 0, 2: 1}))


def test_scalar_delay_and_spikes_before_step_zero_are_zero():
    g = delayed_fanout(np.ones((3, 1)), 3)
    result = run_graph(g, single_input([1, 0, 0, 0, 0]))
    v = result.states["v/out"][0]
    assert v[:, 0].tolist() == [0, 0, 0, 1, 0]  # nothing arrives from before step 0


def test_bias_acts_from_step_zero_while_recurrence_waits_one_step():
    g = graph([pop("in", "input", 1), pop("n", "lif", 1, "subtract", tau_s=TAU_S,
                                          v_threshold=1.0, bias=2.0)],
              [proj("n", "n", np.array([[-1.0]]), 1)])
    result = run_graph(g, single_input([0, 0, 0, 0]), record_states=True)
    # I = bias = 2 for steps 0..2: 0.5, 0.875, 1.15625 -> spike, 0.15625;
    # step 3: I = 2 - 1 = 1: 0.15625 + 0.25*(1 - 0.15625) = 0.3671875
    assert result.states["v/n"][0, :, 0].tolist() == [0.5, 0.875, 0.15625, 0.3671875]
    assert result.spikes["n"][0, :, 0].tolist() == [0, 0, 1, 0]


def test_zero_delay_chain_acts_within_the_step():
    # "b" is inserted before "a" so that only step_order can make "a" update first
    g = graph([pop("in", "input", 1), pop("b", "output", 1), pop("a", "threshold", 1,
                                                                  v_threshold=0.5)],
              [proj("in", "a", np.array([[1.0]])), proj("a", "b", np.array([[1.0]]))])
    result = run_graph(g, single_input([0, 0, 1, 0]))
    assert result.spikes["a"][0, :, 0].tolist() == [0, 0, 1, 0]
    assert result.states["v/b"][0, :, 0].tolist() == [0, 0, 1, 0]


def test_fan_in_of_two_projections_sums_in_input_order():
    # inputs listed as (in2, in1): the columns of the input array follow that order
    g = graph([pop("in1", "input", 1), pop("in2", "input", 2), pop("out", "output", 1, bias=0.5)],
              [proj("in1", "out", np.array([[1.0]])),
               proj("in2", "out", np.array([[10.0, 100.0]]))],
              inputs=("in2", "in1"))
    columns = np.array([[[0, 0, 1], [1, 0, 0], [0, 1, 1], [1, 1, 1]]], dtype=np.uint8)
    result = run_graph(g, columns)
    assert result.states["v/out"][0, :, 0].tolist() == [1.5, 10.5, 101.5, 111.5]
    assert result.spikes["in1"][0, :, 0].tolist() == [1, 0, 1, 1]
    assert result.spikes["in2"][0].tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]



def test_projections_into_one_receptor_sum_and_other_receptors_stay_apart():
    # two excitatory projections (one 2 steps late, one sparse) and one inhibitory, into a
    # lif_cur_exp neuron that never spikes; "o" shows the single-receptor trace at the same time
    n = Population("n", "lif_cur_exp", (1,), {"tau_mem_s": TAU_S, "tau_syn_exc_s": TAU_S,
                                              "tau_syn_inh_s": TAU_S, "v_threshold": 99.0},
                   reset="subtract")
    projs = [Projection("e1", "in", "n", np.array([[1.0]]), receptor="excitatory"),
             Projection("e2", "in", "n", sp.csr_array(np.array([[10.0]])), np.array([2]),
                        receptor="excitatory"),
             Projection("i", "in", "n", np.array([[-100.0]]), receptor="inhibitory"),
             proj("in", "o", np.array([[3.0]]), 1)]
    g = graph([pop("in", "input", 1), n, pop("o", "output", 1, bias=0.5)], projs)
    result = run_graph(g, single_input([1, 1, 0, 0]), record_synaptic=True)
    assert set(result.states) == {"I.excitatory/n", "I.inhibitory/n", "I.current/o", "v/o"}
    assert result.states["I.excitatory/n"][0, :, 0].tolist() == [1.0, 1.0, 10.0, 10.0]
    assert result.states["I.inhibitory/n"][0, :, 0].tolist() == [-100.0, -100.0, 0.0, 0.0]
    assert result.states["I.current/o"][0, :, 0].tolist() == [0.0, 3.0, 3.0, 0.0]
    assert result.states["v/o"][0, :, 0].tolist() == [0.5, 3.5, 3.5, 0.5]  # bias added last
    assert result.counters["synops"] == 2 + 2 + 2 + 2  # e1, e2 (late), i, in->o (late)


# -- sparse, batch ---------------------------------------------------------------------------
def random_network(sparse: bool) -> Graph:
    rng = np.random.default_rng(7)
    w_in = rng.normal(0.0, 0.6, (30, 20)) * (rng.random((30, 20)) < 0.4)
    w_rec = rng.normal(0.0, 0.3, (30, 30)) * (rng.random((30, 30)) < 0.2)
    w_out = rng.normal(0.0, 0.8, (5, 30))
    delays_rec = rng.integers(1, 4, (30, 30))
    wrap = sp.csr_array if sparse else np.asarray
    delays_rec = delays_rec[w_rec != 0] if sparse else delays_rec  # one delay per stored entry
    return graph([pop("in", "input", 20),
                  pop("h", "cubalif", 30, "subtract", tau_syn_s=2 * DT_S, tau_mem_s=TAU_S,
                      v_threshold=0.5, bias=0.05),
                  pop("o", "li", 5, tau_s=TAU_S)],
                 [proj("in", "h", wrap(w_in)), proj("h", "h", wrap(w_rec), delays_rec),
                  proj("h", "o", wrap(w_out), 2)], outputs=("o",))


def random_spikes(batch: int, n_steps: int) -> np.ndarray:
    return (np.random.default_rng(3).random((batch, n_steps, 20)) < 0.3).astype(np.uint8)


def test_sparse_weights_equal_dense_weights():
    spikes = random_spikes(3, 40)
    dense = run_graph(random_network(False), spikes, record_states=True)
    sparse = run_graph(random_network(True), spikes, record_states=True)
    assert dense.spikes["h"].sum() > 0  # the comparison is not between two silent networks
    for name in ("in", "h"):
        np.testing.assert_array_equal(sparse.spikes[name], dense.spikes[name])
    for key in ("v/h", "i_syn/h", "v/o"):
        np.testing.assert_allclose(sparse.states[key], dense.states[key], rtol=1e-12, atol=1e-12)
    assert sparse.counters == dense.counters


def test_batch_equals_each_sample_alone():
    g = random_network(False)
    spikes = random_spikes(4, 30)
    together = run_graph(g, spikes, record_states=True)
    for b in range(4):
        alone = run_graph(g, spikes[b:b + 1], record_states=True)
        np.testing.assert_array_equal(together.spikes["h"][b], alone.spikes["h"][0])
        np.testing.assert_allclose(together.states["v/o"][b], alone.states["v/o"][0],
                                   rtol=1e-12, atol=1e-12)


def test_runs_are_deterministic_and_progress_does_not_change_results(capsys):
    g = random_network(True)
    spikes = random_spikes(2, 10)
    first = run_graph(g, spikes)
    second = run_graph(g, spikes, progress=True)
    np.testing.assert_array_equal(first.spikes["h"], second.spikes["h"])
    np.testing.assert_array_equal(first.states["v/o"], second.states["v/o"])
    assert "10/10" in capsys.readouterr().err  # tqdm reported every step


# -- result and counters ----------------------------------------------------------------------
def counting_network() -> Graph:
    # pre 0 reaches both neurons, pre 1 only neuron 1 (the zero weight is no synapse)
    return graph([pop("in", "input", 2), pop("t", "threshold", 2, v_threshold=0.5)],
                 [proj("in", "t", np.array([[1.0, 0.0], [1.0, 1.0]]))], outputs=("t",))


def test_counters_equal_hand_counts():
    spikes = np.array([[[1, 0], [1, 1], [0, 0]],
                       [[0, 1], [0, 0], [1, 0]]], dtype=np.uint8)
    result = run_graph(counting_network(), spikes)
    # synops: batch 0: 2 + 3 + 0, batch 1: 1 + 0 + 2
    # spikes: I = W @ s: b0 [1,1], [1,2], [0,0] -> 4; b1 [0,1], 0, [1,1] -> 3
    # input spikes: 1 + 2 + 0 + 1 + 0 + 1; steps: 3 steps x batch 2
    assert result.counters == {"synops": 8, "spikes": 7, "input_spikes": 5,
                               "neuron_updates": 2 * 3 * 2, "steps": 6}
    assert result.spikes["t"].dtype == np.uint8
    assert result.spikes["t"].shape == (2, 3, 2)
    assert result.outputs == ("t",)
    assert result.latency_steps == 0


def test_synops_count_only_delivered_spikes():
    g = graph([pop("in", "input", 1), pop("t", "threshold", 2, v_threshold=0.5)],
              [proj("in", "t", np.ones((2, 1)), 2)])
    result = run_graph(g, single_input([1, 0, 1]))
    # the spike of step 0 arrives at step 2 on two synapses; the one of step 2 is still in flight
    assert result.counters["synops"] == 2
    assert result.spikes["t"][0].tolist() == [[0, 0], [0, 0], [1, 1]]


def test_bool_and_int_inputs_give_the_same_result():
    spikes = np.array([[[1, 0], [1, 1], [0, 1]]])
    as_int = run_graph(counting_network(), spikes.astype(np.int64))
    as_bool = run_graph(counting_network(), spikes.astype(bool))
    np.testing.assert_array_equal(as_int.spikes["t"], as_bool.spikes["t"])
    assert as_bool.spikes["in"].dtype == np.uint8


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, found", [
    (np.zeros((3, 2), np.uint8), "shape (3, 2)"),
    (np.zeros((1, 3, 5), np.uint8), "shape (1, 3, 5)"),
    (np.zeros((1, 2, 3, 2), np.uint8), "shape (1, 2, 3, 2)"),
    (np.full((1, 2, 2), 2, np.uint8), "value 2"),
    (np.full((1, 2, 2), np.nan), "value nan"),
    (np.full((1, 2, 2), "1"), "dtype <U1"),
    ([[[0, 1]], [[0]]], "not a rectangular array"),
])
def test_bad_input_spikes_raise(bad, found):
    with pytest.raises(SimulationError, match="expected") as info:
        run_graph(counting_network(), bad)
    assert found in str(info.value)
    if "shape" in found:
        assert "n_in = 2" in str(info.value) and "spikes[None]" in str(info.value)


def test_projection_from_a_non_spiking_population_raises():
    g = graph([pop("in", "input", 1), pop("l", "li", 1, tau_s=TAU_S), pop("o", "output", 1)],
              [proj("in", "l", np.ones((1, 1))), proj("l", "o", np.ones((1, 1)))])
    with pytest.raises(SimulationError, match="non-spiking population 'l'"):
        run_graph(g, single_input([1]))


def test_model_without_a_rule_raises(monkeypatch):
    rules = {k: v for k, v in reference_engine.MODEL_RULES.items() if k != "threshold"}
    monkeypatch.setattr(reference_engine, "MODEL_RULES", rules)
    with pytest.raises(SimulationError, match="'threshold', which the reference engine cannot"):
        run_graph(counting_network(), single_input([1]).repeat(2, axis=2))
