"""Pruning passes: structured removal by hand, activity, schedule, the short spelling,
and for every data-driven pass: input untouched, deterministic, 0 % is the identity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.passes import run_pass
from neurocc.compiler.passes.activity import agreement
from neurocc.compiler.passes.schedule import sparsity_steps
from neurocc.compiler.passes.structured import remove_neurons

W_IN = np.array([[1.0, 0.0, 0.5],
                 [0.0, 0.0, 0.0],    # h1 gets no input: silent
                 [0.3, -0.2, 0.9],
                 [0.4, 0.4, 0.4]])  # h3 also has a large bias: fires at every step
W_OUT = np.array([[0.5, 0.1, -0.7, 0.2],
                  [0.9, 0.3, 0.6, -0.05]])
LIF = {"tau_s": 5e-3, "v_threshold": 1.0, "r": 5.0}


def network(sparse: bool = False, reset: str = "to_value") -> Graph:
    bias = np.array([0.0, 0.0, 0.0, 10.0])
    pops = {"in": Population("in", "input", (3,)),
            "h": Population("h", "lif", (4,), {**LIF, "bias": bias}, reset),
            "o": Population("o", "lif", (2,), LIF, reset)}
    w_in = sp.csr_array(W_IN) if sparse else W_IN
    delays = np.arange(1, 9) if sparse else np.zeros((), dtype=np.int64)  # 8 stored entries
    projs = {"fc1": Projection("fc1", "in", "h", w_in, delays),
             "fc2": Projection("fc2", "h", "o", W_OUT)}
    return Graph(1e-3, pops, projs, ("in",), ("o",))


def data(seed: int = 0, batch: int = 6, steps: int = 30) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, 3)) < 0.6).astype(np.uint8)


def arrays(graph: Graph) -> dict[str, Any]:
    """Every number of a graph, to compare graphs exactly."""
    found: dict[str, Any] = {}
    for name, pop in graph.populations.items():
        found.update({f"{name}.{k}": v.copy() for k, v in pop.params.items()})
        found[f"{name}.reset"] = pop.reset
    for name, proj in graph.projections.items():
        found[f"{name}.w"] = proj.dense_weight().copy()
        found[f"{name}.d"] = np.asarray(proj.delay_steps).copy()
    return found


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_removing_a_neuron_cuts_its_row_column_and_parameters() -> None:
    graph = network()
    pruned = remove_neurons(graph, {"h": np.array([True, False, True, True])})
    np.testing.assert_array_equal(pruned.projections["fc1"].weight, W_IN[[0, 2, 3]])
    np.testing.assert_array_equal(pruned.projections["fc2"].weight, W_OUT[:, [0, 2, 3]])
    np.testing.assert_array_equal(pruned.populations["h"].params["bias"], [0, 0, 10])
    assert pruned.populations["h"].metadata["kept_neurons"] == [0, 2, 3]
    again = remove_neurons(pruned, {"h": np.array([True, False, True])})
    assert again.populations["h"].metadata["kept_neurons"] == [0, 3]  # original indices


def test_sparse_rows_keep_their_per_synapse_delays() -> None:
    graph = network(sparse=True)
    pruned = remove_neurons(graph, {"h": np.array([True, True, False, True])})
    proj = pruned.projections["fc1"]
    # CSR entries of W_IN in order, delays 1..8: row 0 -> d1 d2, row 2 -> d3 d4 d5 (cut),
    # row 3 -> d6 d7 d8
    np.testing.assert_array_equal(proj.dense_weight(), W_IN[[0, 1, 3]])
    np.testing.assert_array_equal(proj.delay_steps, [1, 2, 6, 7, 8])


def test_activity_pruning_removes_the_silent_and_the_hyperactive_neuron() -> None:
    graph = network()
    pruned = run_pass(graph, "prune.activity", {"data": data(), "hyperactive_rate": 0.9})
    assert pruned.populations["h"].metadata["kept_neurons"] == [0, 2]
    effect = pruned.history[-1].details["effect"]
    assert effect["silent"] == {"h": 1} and effect["hyperactive"] == {"h": 1}
    assert (effect["synapses_before"], effect["synapses_after"]) == (16, 9)


def test_neuron_pruning_drops_the_smallest_outgoing_weights() -> None:
    # outgoing L1 norms of h: 1.4, 0.4, 1.3, 0.25 -> the two lowest are h3 and h1
    pruned = run_pass(network(), "prune.neurons", {"fraction": 0.5})
    assert pruned.populations["h"].metadata["kept_neurons"] == [0, 2]
    assert pruned.history[-1].details["effect"]["neurons_removed"] == 2


@pytest.mark.parametrize("options, message", [
    ({"fraction": 0.5, "populations": "o"}, "'o' is an input or an output"),
    ({"fraction": 0.5, "populations": "in"}, "'in' is an input or an output"),
    ({"fraction": 1.0}, "0 <= fraction < 1"),
])
def test_neuron_pruning_refuses_the_interface_and_everything(options: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(NeuroccError, match=message):
        run_pass(network(), "prune.neurons", options)


def test_data_passes_say_what_data_they_need() -> None:
    with pytest.raises(NeuroccError, match=r"option 'data'.*missing"):
        run_pass(network(), "prune.activity", {})
    with pytest.raises(NeuroccError, match=r"option 'data'.*\(2, 5, 4\).*\(batch, T, 3\)"):
        run_pass(network(), "prune.activity", {"data": np.zeros((2, 5, 4))})


def test_short_spelling_expands_to_the_named_pass() -> None:
    short = run_pass(network(), "prune", {"method": "magnitude", "sparsity": "0.4"})
    long = run_pass(network(), "prune.magnitude", {"fraction": 0.4})
    assert short.history[-1].name == "prune.magnitude"
    assert same(arrays(short), arrays(long))
    with pytest.raises(NeuroccError, match=r"'method'.*'lottery'"):
        run_pass(network(), "prune", {"method": "lottery"})
    with pytest.raises(NeuroccError, match="both 'sparsity' and 'fraction'"):
        run_pass(network(), "prune", {"sparsity": 0.1, "fraction": 0.1})


def test_sparsity_schedules() -> None:
    assert sparsity_steps(0.8, 4, "linear") == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert sparsity_steps(0.8, 2, "cubic") == pytest.approx([0.8 * 7 / 8, 0.8])


def test_schedule_without_data_ends_where_one_shot_pruning_does() -> None:
    graph = network()
    stepped = run_pass(graph, "prune.schedule", {"fraction": 0.6, "steps": 3})
    once = run_pass(graph, "prune.magnitude", {"fraction": 0.6})
    assert same(arrays(stepped), arrays(once))


def test_schedule_with_data_recalibrates_towards_the_unpruned_rates() -> None:
    pruned = run_pass(network(), "prune.schedule", {"fraction": 0.5, "steps": 2,
                                                    "data": data()})
    for step in pruned.history[-1].details["effect"]["steps"]:
        assert step["agreement_recalibrated"] >= step["agreement_pruned"]


def test_agreement_is_the_ratio_of_summed_minima_to_summed_maxima() -> None:
    assert agreement({"a": np.array([[1, 2]])}, {"a": np.array([[2, 2]])}) == 0.75
    assert agreement({"a": np.zeros((1, 2))}, {"a": np.zeros((1, 2))}) == 1.0


CASES = [("prune.magnitude", {"fraction": 0.5}), ("prune.activity", {"hyperactive_rate": 0.9}),
         ("prune.neurons", {"fraction": 0.25}), ("prune.schedule", {"fraction": 0.5,
                                                                    "steps": 2}),
         ("reset.convert", {})]


@pytest.mark.parametrize("name, options", CASES)
def test_passes_leave_their_input_alone_and_repeat_exactly(name: str,
                                                           options: dict[str, Any]) -> None:
    graph = network(reset="subtract")
    before = arrays(graph)
    given = {**options, "data": data()} if name != "prune.magnitude" else options
    first, second = run_pass(graph, name, given), run_pass(graph, name, given)
    assert same(arrays(graph), before)
    assert same(arrays(first), arrays(second))
    assert first.history[-1].details == second.history[-1].details
    assert not same(arrays(first), before)  # and each did something here


@pytest.mark.parametrize("name, options", [("prune.magnitude", {"fraction": 0.0}),
                                           ("prune.neurons", {"fraction": 0.0}),
                                           ("prune.schedule", {"fraction": 0.0}),
                                           ("prune", {"sparsity": 0.0})])
def test_pruning_nothing_is_the_identity(name: str, options: dict[str, Any]) -> None:
    graph = network(sparse=True)
    assert same(arrays(run_pass(graph, name, options)), arrays(graph))


def test_neuron_pruning_can_recalibrate_the_layers_after_it() -> None:
    graph = network()
    options = {"fraction": 0.5, "data": data(), "recalibrate": True}
    pruned = run_pass(graph, "prune.neurons", options)
    effect = pruned.history[-1].details["effect"]
    assert effect["agreement_recalibrated"] > effect["agreement_pruned"]
    # only thresholds changed against plain removal; the weights are the same
    plain = run_pass(graph, "prune.neurons", {"fraction": 0.5})
    np.testing.assert_array_equal(pruned.projections["fc2"].weight,
                                  plain.projections["fc2"].weight)
    assert not np.array_equal(pruned.populations["o"].params["v_threshold"],
                              plain.populations["o"].params["v_threshold"])
    with pytest.raises(NeuroccError, match=r"'recalibrate'.*needs sample inputs"):
        run_pass(graph, "prune.neurons", {"fraction": 0.5, "recalibrate": True})
