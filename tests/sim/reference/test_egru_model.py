"""The ``egru`` model in the float reference engine: a hand-derived trace, graded events
(delivered as values, recorded and counted as 0/1 events) and the model's reset.

Expectations are derived in scalar Python (``math``) from the equations of
``compiler/neurons.py``, one step at a time: the engine computes the same
expressions with numpy arrays, so they agree to a few ulps (``REL``), not bit for bit
(numpy's vectorised ``tanh`` may round differently from libm's).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurocc.compiler.errors import GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import NEURON_MODELS
from neurocc.sim.reference import run_graph

DT_S = 1e-3  # EGRU is discrete: dt_s names the step and changes nothing
REL = 1e-14  # a few ulps of rounding on values of order 1
THRESHOLD = 0.25
W_IN_CANDIDATE = 2.0
W_REC = {"update": -1.0, "reset": 2.0, "candidate_recurrent": 1.0}
BIAS_CANDIDATE_RECURRENT = 0.5
W_READOUT = 3.0


def sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


def unit_graph(reset: str = "subtract") -> Graph:
    """in --2--> candidate of one egru unit; the unit feeds itself back (delay 1) on update,
    reset and candidate_recurrent, and an ``output`` readout with weight 3."""
    pops = {"in": Population("in", "input", (1,)),
            "e": Population("e", "egru", (1,), {"c_threshold": THRESHOLD,
                            "bias_candidate_recurrent": BIAS_CANDIDATE_RECURRENT}, reset=reset),
            "out": Population("out", "output", (1,))}
    projs = [Projection("x", "in", "e", [[W_IN_CANDIDATE]], receptor="candidate"),
             *(Projection(f"rec_{gate}", "e", "e", [[w]], np.array(1), receptor=gate)
               for gate, w in W_REC.items()),
             Projection("readout", "e", "out", [[W_READOUT]])]
    return Graph(DT_S, pops, {p.name: p for p in projs}, ("in",), ("out",))


def scalar_trace(inputs: list[int]) -> dict[str, list[float]]:
    """The equations, one unit, in plain Python: post-reset c, events, y."""
    c, y = 0.0, 0.0
    out: dict[str, list[float]] = {"c": [], "e": [], "y": []}
    for x in inputs:
        u = sigmoid(W_REC["update"] * y)  # bias_update = 0
        r = sigmoid(W_REC["reset"] * y)  # bias_reset = 0
        z = math.tanh(W_IN_CANDIDATE * x
                      + r * (W_REC["candidate_recurrent"] * y + BIAS_CANDIDATE_RECURRENT))
        c = u * z + (1.0 - u) * c
        event = c > THRESHOLD
        y = c if event else 0.0
        c = c - THRESHOLD if event else c
        for key, value in (("c", c), ("e", float(event)), ("y", y)):
            out[key].append(value)
    return out


def test_egru_is_a_spiking_model_with_gate_receptors_and_graded_events():
    model = NEURON_MODELS["egru"]
    assert model.receptors == ("update", "reset", "candidate", "candidate_recurrent")
    assert model.state == ("c",) and model.spiking and model.event_value == "y"
    assert model.resets == ("subtract",)


def test_first_step_by_hand():
    # Step 0: y_{-1} = 0, so u = r = sigmoid(0) = 1/2 exactly; the reset gate still scales
    # the recurrent candidate bias: z = tanh(2 + 0.5*0.5) = tanh(2.25); c = z/2 = 0.4891...
    # > 0.25: an event carrying y = c, then c = c - 0.25.
    result = run_graph(unit_graph(), np.ones((1, 1, 1), np.uint8), record_states=True)
    c_pre = 0.5 * math.tanh(2.25)
    assert result.states["y/e"][0, 0, 0] == pytest.approx(c_pre, rel=REL)
    assert result.states["c/e"][0, 0, 0] == pytest.approx(c_pre - THRESHOLD, rel=REL)
    assert result.spikes["e"][0, 0, 0] == 1
    # the readout got the event's value, not 1
    assert result.states["v/out"][0, 0, 0] == pytest.approx(W_READOUT * c_pre, rel=REL)


def test_trace_over_steps_matches_the_scalar_equations():
    inputs = [1, 0, 0, 1, 0, 0, 0, 0]
    result = run_graph(unit_graph(), np.array(inputs, np.uint8).reshape(1, -1, 1),
                       record_states=True)
    expected = scalar_trace(inputs)
    assert 0 < sum(expected["e"]) < len(inputs)  # the trace has events and silent steps
    np.testing.assert_allclose(result.states["c/e"][0, :, 0], expected["c"], rtol=REL)
    np.testing.assert_allclose(result.states["y/e"][0, :, 0], expected["y"], rtol=REL)
    assert result.spikes["e"][0, :, 0].tolist() == expected["e"]
    # the readout sees y of the same step (delay 0): W * y, zero on silent steps
    np.testing.assert_allclose(result.states["v/out"][0, :, 0],
                               [W_READOUT * y for y in expected["y"]], rtol=REL)


def test_events_are_recorded_as_0_1_and_counted_once_each():
    inputs = [1, 0, 0, 1, 0, 0, 0, 0]
    result = run_graph(unit_graph(), np.array(inputs, np.uint8).reshape(1, -1, 1))
    events = result.spikes["e"]
    assert events.dtype == np.uint8 and set(np.unique(events)) <= {0, 1}
    n_events = int(events.sum())
    assert result.counters["spikes"] == n_events
    # Each event reaches 4 synapses (3 recurrent, delivered if the run goes on, 1 readout);
    # the input's 2 spikes reach 1 each. An event is counted once whatever value it carries.
    delivered_recurrent = int(events[0, :-1, 0].sum())
    assert result.counters["synops"] == 2 + n_events + 3 * delivered_recurrent
    # y is recorded without record_states (it is the population's output); c only on request
    assert set(result.states) == {"y/e", "v/out"}


def test_graded_values_reach_every_receptor_through_their_own_weights():
    """Two egru units: unit a (driven by the input) feeds unit b's gates; b's synaptic input,
    recorded per receptor, is W times a's event value."""
    pops = {"in": Population("in", "input", (1,)),
            "a": Population("a", "egru", (1,), {"c_threshold": 0.0}, reset="subtract"),
            "b": Population("b", "egru", (1,), {"c_threshold": 10.0}, reset="subtract")}
    weights = {"update": 0.5, "reset": -1.5, "candidate": 2.0, "candidate_recurrent": 4.0}
    projs = [Projection("x", "in", "a", [[3.0]], receptor="candidate"),
             *(Projection(f"ab_{gate}", "a", "b", [[w]], receptor=gate)
               for gate, w in weights.items())]
    graph = Graph(DT_S, pops, {p.name: p for p in projs}, ("in",), ("b",))
    result = run_graph(graph, np.ones((1, 1, 1), np.uint8), record_synaptic=True)
    y_a = 0.5 * math.tanh(3.0)  # u = r = 1/2, threshold 0: an event carrying c
    assert result.states["y/a"][0, 0, 0] == pytest.approx(y_a, rel=REL)
    for gate, w in weights.items():
        assert result.states[f"I.{gate}/b"][0, 0, 0] == pytest.approx(w * y_a, rel=REL)
    assert result.spikes["b"][0, 0, 0] == 0 and result.states["y/b"][0, 0, 0] == 0.0


def test_egru_accepts_only_the_subtracting_reset():
    with pytest.raises(GraphError, match=r"population 'e' \(egru\): reset mode 'to_value' is "
                       r"not valid.*\['subtract'\]"):
        unit_graph(reset="to_value")


def test_a_gate_needs_its_receptor_named():
    pops = {"in": Population("in", "input", (1,)),
            "e": Population("e", "egru", (1,), {"c_threshold": 0.5}, reset="subtract")}
    with pytest.raises(GraphError, match=r"names no receptor.*\['update', 'reset', "
                       r"'candidate', 'candidate_recurrent'\]"):
        Graph(DT_S, pops, {"x": Projection("x", "in", "e", [[1.0]])}, ("in",), ("e",))
