"""delays.legalize: relay chains spike exactly like the long delays on the reference engine,
hand-counted chains, rounding and clipping errors recorded, errors named, target facts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import compile_graph
from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.passes import run_pass
from neurocc.sim.reference import run_graph


def network(seed: int = 1) -> Graph:
    """5 inputs -> 4 lif (dense, delays 0..19) -> 3 lif (CSR, delays 0..24)."""
    rng = np.random.default_rng(seed)
    pops = {"in": Population("in", "input", (5,)),
            "h": Population("h", "lif", (4,), {"tau_s": 2e-3, "v_threshold": 0.8}, "subtract"),
            "o": Population("o", "lif", (3,), {"tau_s": 3e-3, "v_threshold": 0.8}, "to_value")}
    w2 = sp.csr_array(rng.normal(1, 0.5, (3, 4)) * (rng.random((3, 4)) < 0.7))
    projs = {"a": Projection("a", "in", "h", rng.normal(1, 0.5, (4, 5)),
                             rng.integers(0, 20, (4, 5))),
             "b": Projection("b", "h", "o", w2, rng.integers(0, 25, w2.nnz))}
    return Graph(1e-3, pops, projs, ("in",), ("o",))


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_relay_chains_spike_exactly_as_the_long_delays(limit: int) -> None:
    graph = network()
    spikes = (np.random.default_rng(0).random((3, 80, 5)) < 0.2).astype(np.uint8)
    legal = run_pass(graph, "delays.legalize", {"max_delay_steps": limit})
    assert max(p.max_delay for p in legal.projections.values()) <= limit
    before, after = run_graph(graph, spikes), run_graph(legal, spikes)
    assert before.spikes["o"].sum() > 0
    for name in ("h", "o"):
        np.testing.assert_array_equal(after.spikes[name], before.spikes[name])
    effect = legal.history[-1].details["effect"]
    assert effect["timing_error_max_steps"] == 0.0 and effect["relay_neurons"] > 0
    assert effect["over_limit"] == sum(int(np.count_nonzero((p.coo()[2] != 0) & (p.coo()[3] >
                                                                                 limit)))
                                       for p in graph.projections.values())
    assert legal.history[-1].details["provides"] == ["delays_legal"]
    assert set(graph.populations) == {"in", "h", "o"}  # input untouched
    assert run_pass(graph, "delays.legalize", {"max_delay_steps": limit}).projections.keys() \
        == legal.projections.keys()


def one_synapse(delay: int) -> Graph:
    pops = {"in": Population("in", "input", (2,)),
            "o": Population("o", "lif", (1,), {"tau_s": 1e-3, "v_threshold": 0.5}, "to_value")}
    proj = Projection("p", "in", "o", np.array([[1.0, 2.0]]), np.array([[delay, 1]]))
    return Graph(1e-3, pops, {"p": proj}, ("in",), ("o",))


def test_a_delay_of_10_with_limit_3_takes_three_relays_and_a_last_hop_of_1() -> None:
    legal = run_pass(one_synapse(10), "delays.legalize", {"max_delay_steps": 3})
    assert [p for p in legal.populations if ".relay" in p] == ["p.relay1", "p.relay2",
                                                               "p.relay3"]
    assert all(legal.populations[f"p.relay{i}"].size == 1 for i in (1, 2, 3))  # source 0 only
    hops = [int(legal.projections[n].delay_steps) for n in ("p.relay1.in", "p.relay2.in",
                                                            "p.relay3.in")]
    assert hops == [3, 3, 3]
    via = legal.projections["p.via3"]
    assert via.coo()[2].tolist() == [1.0] and via.delay_steps.tolist() == [1]  # 9 + 1 = 10
    direct = legal.projections["p"]
    np.testing.assert_array_equal(direct.weight, [[0.0, 2.0]])  # the other synapse stays
    np.testing.assert_array_equal(direct.delay_steps, [[0, 1]])
    effect = legal.history[-1].details["effect"]["projections"]["p"]
    assert (effect["relay_neurons"], effect["relay_levels"], effect["over_limit"]) == (3, 3, 1)


def test_delay_s_is_rounded_to_steps_and_the_error_recorded() -> None:
    graph = one_synapse(0)
    proj = graph.projections["p"]
    imported = Projection("p", "in", "o", proj.weight, 0, {"delay_s": [[0.0014, 0.0026]]})
    legal = run_pass(graph.replace(projections={"p": imported}), "delays.legalize",
                     {"max_delay_steps": 5})
    np.testing.assert_array_equal(legal.projections["p"].delay_steps, [[1, 3]])
    assert "delay_s" not in legal.projections["p"].metadata
    record = legal.history[-1].details["effect"]
    assert record["rounding_error_max_steps"] == pytest.approx(0.4)  # |1 - 1.4|, |3 - 2.6|
    assert record["projections"]["p"]["rounding_error_mean_s"] == pytest.approx(4e-4)


def test_clip_sets_the_maximum_and_records_the_timing_error() -> None:
    legal = run_pass(one_synapse(10), "delays.legalize", {"max_delay_steps": 4,
                                                           "overflow": "clip"})
    np.testing.assert_array_equal(legal.projections["p"].delay_steps, [[4, 1]])
    effect = legal.history[-1].details["effect"]
    assert effect["timing_error_max_steps"] == 6.0
    assert effect["timing_error_mean_steps"] == 3.0  # (6 + 0) / 2 synapses
    assert effect["relay_neurons"] == 0


def test_error_mode_names_the_projection_the_delay_and_the_limit() -> None:
    with pytest.raises(NeuroccError, match=r"projection 'p' \(in -> o\).*delay of 10 steps.*"
                                           r"limit of 4 steps"):
        run_pass(one_synapse(10), "delays.legalize", {"max_delay_steps": 4, "overflow": "error"})


@pytest.mark.parametrize("options, message", [
    ({}, "max_delay_steps.*not given"),
    ({"max_delay_steps": 0}, "max_delay_steps.*is 0; expected >= 1"),
])
def test_a_missing_or_useless_limit_is_refused(options, message) -> None:
    with pytest.raises(NeuroccError, match=message):
        run_pass(one_synapse(10), "delays.legalize", options)


def test_compiling_for_a_target_takes_its_delay_max_steps() -> None:
    """loihi2.yaml: delay_max_steps = 63; a 70-step delay becomes one relay + 7 steps."""
    artifact = compile_graph(one_synapse(70), "loihi2", passes=["delays.legalize"])
    record = next(r for r in artifact.graph.history if r.name == "delays.legalize")
    assert record.details["options"]["max_delay_steps"] == 63
    assert record.details["from_target"] == ["max_delay_steps"]
    assert int(artifact.graph.projections["p.via1"].delay_steps[0]) == 7


def test_relay_chains_keep_the_timing_on_loihi2s_exact_engine() -> None:
    """A coincidence neuron (v = I, two unit inputs needed) over delays of 70..200 steps, three
    relays deep on loihi2 (max 63): the bit-exact engine fires exactly where the reference
    engine fires on the unlegalized graph (the values quantize exactly, so any difference
    would be timing)."""
    pops = {"in": Population("in", "input", (3,)),
            "o": Population("o", "lif", (2,), {"tau_s": 1e-3, "v_threshold": 1.5}, "to_value")}
    delays = np.array([[70, 1, 130], [130, 200, 2]])
    graph = Graph(1e-3, pops, {"p": Projection("p", "in", "o", np.ones((2, 3)), delays)},
                  ("in",), ("o",))
    spikes = (np.random.default_rng(0).random((2, 300, 3)) < 0.2).astype(np.uint8)
    artifact = compile_graph(graph, "loihi2", passes=["delays.legalize"])
    assert "p.relay3" in artifact.graph.populations
    expected = run_graph(graph, spikes).spikes["o"]
    assert expected.sum() > 20
    exact = neurocc.simulate(artifact, spikes, engine="exact", align=True).spikes["o"]
    np.testing.assert_array_equal(exact, expected)
