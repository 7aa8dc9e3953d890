"""Hand-computed single-neuron traces of every neuron model in the float reference engine.

Times are powers of two (dt = 2**-10 s) so that every expected value below is
exact in float64 and can be compared with ==.
"""

import numpy as np
import pytest

from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import NEURON_MODELS
from neurocc.sim.reference import run_graph
from neurocc.sim.reference.models import MODEL_RULES

DT_S = 2.0**-10
TAU_S = 4 * DT_S  # dt/tau = 0.25
R_PERFECT = 256.0  # dt*r = 0.25 for IF and integrator


def one_neuron(model: str, params: dict, reset: str = "none", weight: float = 2.0) -> Graph:
    """in (1 neuron) --weight, delay 0--> n (1 neuron of `model`)."""
    pops = {"in": Population("in", "input", (1,)),
            "n": Population("n", model, (1,), params, reset=reset)}
    proj = {"in_n": Projection("in_n", "in", "n", np.array([[weight]]))}
    return Graph(DT_S, pops, proj, ("in",), ("n",))


def run_one(graph: Graph, train: list[int], record_states: bool = True):
    spikes = np.array(train, dtype=np.uint8).reshape(1, -1, 1)
    return run_graph(graph, spikes, record_states=record_states)


def trace(result, key: str) -> list[float]:
    return result.states[key][0, :, 0].tolist()


def spike_train(result, name: str = "n") -> list[int]:
    return result.spikes[name][0, :, 0].tolist()


def test_every_registered_model_but_input_has_a_rule():
    assert set(MODEL_RULES) == set(NEURON_MODELS) - {"input"}


def test_lif_subtract_trace():
    graph = one_neuron("lif", {"tau_s": TAU_S, "v_threshold": 1.0}, "subtract")
    result = run_one(graph, [1, 1, 1, 1])
    # I = 2 each step: v = 0.25*2 = 0.5; 0.5 + 0.25*1.5 = 0.875;
    # 0.875 + 0.25*1.125 = 1.15625 > 1 -> spike, v = 0.15625; 0.15625 + 0.25*1.84375 = 0.6171875
    assert trace(result, "v/n") == [0.5, 0.875, 0.15625, 0.6171875]
    assert spike_train(result) == [0, 0, 1, 0]


def test_lif_to_value_trace():
    graph = one_neuron("lif", {"tau_s": TAU_S, "v_threshold": 1.0, "v_reset": 0.125}, "to_value")
    result = run_one(graph, [1, 1, 1, 1])
    # as above until the spike at step 2, then v = 0.125; 0.125 + 0.25*1.875 = 0.59375
    assert trace(result, "v/n") == [0.5, 0.875, 0.125, 0.59375]
    assert spike_train(result) == [0, 0, 1, 0]


def test_lif_leak_and_resistance():
    params = {"tau_s": TAU_S, "v_threshold": 10.0, "v_leak": 0.4, "r": 0.5}
    result = run_one(one_neuron("lif", params, "subtract"), [1, 0, 0])
    # step 0: r*I = 1: 0.25*(0.4 + 1) = 0.35; then I = 0: 0.35 + 0.25*0.05 = 0.3625;
    # 0.3625 + 0.25*0.0375 = 0.371875
    np.testing.assert_allclose(trace(result, "v/n"), [0.35, 0.3625, 0.371875], rtol=1e-15)


def test_threshold_is_strict():
    graph = one_neuron("lif", {"tau_s": TAU_S, "v_threshold": 0.5}, "subtract")
    result = run_one(graph, [1, 1])
    # step 0: v = 0.5 == threshold -> no spike; step 1: 0.875 > 0.5 -> spike, v = 0.375
    assert spike_train(result) == [0, 1]
    assert trace(result, "v/n") == [0.5, 0.375]


def test_cubalif_trace():
    params = {"tau_syn_s": 2 * DT_S, "tau_mem_s": TAU_S, "v_threshold": 1.0}
    result = run_one(one_neuron("cubalif", params, "subtract"), [1, 1, 1, 1])
    # i_syn += 0.5*(-i_syn + 2): 1, 1.5, 1.75, 1.875
    # v += 0.25*(-v + i_syn) with the new i_syn: 0.25, 0.5625, 0.859375, 1.11328125 -> spike
    assert trace(result, "i_syn/n") == [1.0, 1.5, 1.75, 1.875]
    assert trace(result, "v/n") == [0.25, 0.5625, 0.859375, 0.11328125]
    assert spike_train(result) == [0, 0, 0, 1]


def test_cubalif_input_weight_scales_the_current():
    params = {"tau_syn_s": 2 * DT_S, "tau_mem_s": TAU_S, "v_threshold": 9.0, "w_in": 3.0}
    result = run_one(one_neuron("cubalif", params, "subtract"), [1])
    # i_syn = 0.5*(3*2) = 3; v = 0.25*3 = 0.75
    assert trace(result, "i_syn/n") == [3.0]
    assert trace(result, "v/n") == [0.75]


def test_if_trace_subtract():
    graph = one_neuron("if", {"r": R_PERFECT, "v_threshold": 1.0}, "subtract")
    result = run_one(graph, [1, 1, 1, 1])
    # v += 0.25*2: 0.5, 1.0 (== threshold, no spike), 1.5 -> spike, 0.5; then 1.0
    assert trace(result, "v/n") == [0.5, 1.0, 0.5, 1.0]
    assert spike_train(result) == [0, 0, 1, 0]


def test_if_trace_to_value():
    graph = one_neuron("if", {"r": R_PERFECT, "v_threshold": 1.0, "v_reset": -0.25}, "to_value")
    result = run_one(graph, [1, 1, 1, 1])
    assert trace(result, "v/n") == [0.5, 1.0, -0.25, 0.25]
    assert spike_train(result) == [0, 0, 1, 0]


def test_li_integrates_without_spiking():
    result = run_one(one_neuron("li", {"tau_s": TAU_S}), [1, 1, 1, 1], record_states=False)
    # the LIF trace without reset: 0.5, 0.875, 1.15625, 1.15625 + 0.25*0.84375 = 1.3671875
    assert trace(result, "v/n") == [0.5, 0.875, 1.15625, 1.3671875]
    assert "n" not in result.spikes


def test_integrator_accumulates():
    result = run_one(one_neuron("integrator", {"r": R_PERFECT}), [1, 0, 1, 1],
                     record_states=False)
    assert trace(result, "v/n") == [0.5, 0.5, 1.0, 1.5]
    assert "n" not in result.spikes


def test_threshold_model_is_stateless_and_strict():
    result = run_one(one_neuron("threshold", {"v_threshold": 1.5}), [1, 0, 1])
    assert spike_train(result) == [1, 0, 1]  # I = 2 > 1.5 only where the input spiked
    equal = run_one(one_neuron("threshold", {"v_threshold": 2.0}), [1, 0, 1])
    assert spike_train(equal) == [0, 0, 0]  # I == 2 == threshold does not spike
    assert equal.states == {}


def test_output_reads_the_current():
    graph = one_neuron("output", {"bias": 0.5}, weight=3.0)
    result = run_one(graph, [1, 0, 1], record_states=False)
    assert trace(result, "v/n") == [3.5, 0.5, 3.5]
    assert result.output[0, :, 0].tolist() == [3.5, 0.5, 3.5]


@pytest.mark.parametrize("reset", ["subtract", "to_value"])
def test_spiking_states_are_recorded_only_on_request(reset):
    graph = one_neuron("cubalif", {"tau_syn_s": TAU_S, "tau_mem_s": TAU_S, "v_threshold": 1.0},
                       reset)
    assert run_one(graph, [1, 1], record_states=False).states == {}
    recorded = run_one(graph, [1, 1]).states
    assert set(recorded) == {"v/n", "i_syn/n"}
    assert all(a.dtype == np.float64 and a.shape == (1, 2, 1) for a in recorded.values())


# -- lif_cur_exp: two exponential synapses ---------------------------------------------------
def cur_exp_neuron(reset: str, **params: float) -> Graph:
    """ex --2--> excitatory and ih --(-1)--> inhibitory receptor of one lif_cur_exp neuron."""
    values = {"tau_mem_s": TAU_S, "tau_syn_exc_s": 2 * DT_S, "tau_syn_inh_s": TAU_S,
              "v_threshold": 0.5, "bias": 0.5, **params}
    pops = {"ex": Population("ex", "input", (1,)), "ih": Population("ih", "input", (1,)),
            "n": Population("n", "lif_cur_exp", (1,), values, reset=reset)}
    projs = {"e": Projection("e", "ex", "n", np.array([[2.0]]), receptor="excitatory"),
             "i": Projection("i", "ih", "n", np.array([[-1.0]]), receptor="inhibitory")}
    return Graph(DT_S, pops, projs, ("ex", "ih"), ("n",))


def run_two(graph: Graph, exc: list[int], inh: list[int], **options: bool):
    spikes = np.array([exc, inh], dtype=np.uint8).T[None]  # (1, T, 2): columns ex, ih
    return run_graph(graph, spikes, record_states=True, **options)


def test_lif_cur_exp_trace():
    result = run_two(cur_exp_neuron("subtract"), [1, 1, 0, 0], [0, 1, 1, 0])
    # dt/tau_syn_exc = 0.5, dt/tau_syn_inh = dt/tau_mem = 0.25; I_exc = 2, 2, 0, 0 and
    # I_inh = 0, -1, -1, 0. Currents first:
    #   i_exc += 0.5*(-i_exc + I_exc):    1, 1.5, 0.75, 0.375
    #   i_inh += 0.25*(-i_inh + I_inh):   0, -0.25, -0.4375, -0.328125
    # then v += 0.25*(-v + i_exc + i_inh + bias 0.5):
    #   step 0: 0.25*1.5 = 0.375
    #   step 1: 0.375 + 0.25*(-0.375 + 1.5 - 0.25 + 0.5) = 0.71875 > 0.5: spike, -0.5 = 0.21875
    #   step 2: 0.21875 + 0.25*(-0.21875 + 0.75 - 0.4375 + 0.5) = 0.3671875
    #   step 3: 0.3671875 + 0.25*(-0.3671875 + 0.375 - 0.328125 + 0.5) = 0.412109375
    assert trace(result, "i_exc/n") == [1.0, 1.5, 0.75, 0.375]
    assert trace(result, "i_inh/n") == [0.0, -0.25, -0.4375, -0.328125]
    assert trace(result, "v/n") == [0.375, 0.21875, 0.3671875, 0.412109375]
    assert spike_train(result) == [0, 1, 0, 0]


def test_lif_cur_exp_resets_v_to_value_and_never_the_currents():
    result = run_two(cur_exp_neuron("to_value", v_reset=-0.125), [1, 1, 0], [0, 1, 1])
    # as above until the spike at step 1, then v = -0.125;
    # step 2: -0.125 + 0.25*(0.125 + 0.75 - 0.4375 + 0.5) = 0.109375
    assert trace(result, "v/n") == [0.375, -0.125, 0.109375]
    assert trace(result, "i_exc/n") == [1.0, 1.5, 0.75]


def test_excitatory_and_inhibitory_inputs_land_in_their_own_currents():
    only_exc = run_two(cur_exp_neuron("subtract", bias=0.0, v_threshold=9.0), [1, 0], [0, 0])
    assert trace(only_exc, "i_exc/n") == [1.0, 0.5] and trace(only_exc, "i_inh/n") == [0, 0]
    only_inh = run_two(cur_exp_neuron("subtract", bias=0.0, v_threshold=9.0), [0, 0], [1, 0])
    # i_inh = 0.25*(-1) = -0.25, then -0.25 + 0.25*0.25 = -0.1875; v = 0.25*(-0.25)
    assert trace(only_inh, "i_exc/n") == [0, 0] and trace(only_inh, "i_inh/n") == [-0.25,
                                                                                  -0.1875]
    assert trace(only_inh, "v/n")[0] == -0.0625


def test_bias_enters_the_membrane_not_the_synapses():
    result = run_two(cur_exp_neuron("subtract", bias=2.0, v_threshold=9.0), [0, 0], [0, 0])
    # no input: both currents stay 0; v = 0.25*2 = 0.5, 0.5 + 0.25*1.5 = 0.875
    assert trace(result, "i_exc/n") == [0, 0] and trace(result, "i_inh/n") == [0, 0]
    assert trace(result, "v/n") == [0.5, 0.875]


def test_synaptic_input_is_recorded_per_receptor_without_bias():
    result = run_two(cur_exp_neuron("subtract"), [1, 1, 0], [0, 1, 1], record_synaptic=True)
    assert trace(result, "I.excitatory/n") == [2.0, 2.0, 0.0]
    assert trace(result, "I.inhibitory/n") == [0.0, -1.0, -1.0]
    lif = one_neuron("lif", {"tau_s": TAU_S, "v_threshold": 9.0, "bias": 0.5}, "subtract")
    assert "I.current/n" not in run_one(lif, [1, 0, 1]).states  # recorded only on request
    single = run_graph(lif, np.array([1, 0, 1], np.uint8).reshape(1, -1, 1), record_synaptic=True)
    assert set(single.states) == {"I.current/n"}  # W s only: the bias 0.5 is not in it
    assert trace(single, "I.current/n") == [2.0, 0.0, 2.0]
