"""Writing graphs that did not come from NIR, and what NIR cannot express."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.nir import graph_to_nir, read_nir


def lif(name: str, n: int, bias: float = 0.0) -> Population:
    return Population(name, "lif", (n,), {"tau_s": np.full(n, 0.01), "v_threshold": np.ones(n),
                                          "bias": np.full(n, bias)}, "to_value")


def plain_graph(projections: list[Projection], bias: float = 0.0) -> Graph:
    pops = {"in": Population("in", "input", (2,)), "a": lif("a", 2, bias), "b": lif("b", 2)}
    return Graph(1e-3, pops, {p.name: p for p in projections}, ("in",), ("b",))


def test_foreign_graph_is_written_as_linear_and_delay_nodes():
    weight = np.array([[1.0, 2.0], [3.0, 4.0]])
    graph = plain_graph([Projection("p", "in", "a", np.eye(2)),
                         Projection("q", "a", "b", weight, np.array(3))])
    written = graph_to_nir(graph)
    assert type(written.nodes["q"]) is nir.Linear
    np.testing.assert_array_equal(written.nodes["q_delay"].delay, np.full(2, 3e-3))
    assert written.metadata["dt"] == 1e-3
    again = read_nir(written)
    np.testing.assert_array_equal(again.projections["q"].weight, weight)
    assert int(again.projections["q"].delay_steps) == 3
    assert again.outputs == ("b",)


def test_bias_goes_on_an_affine():
    graph = plain_graph([Projection("p", "in", "a", np.eye(2)),
                         Projection("q", "a", "b", np.eye(2))], bias=0.5)
    written = graph_to_nir(graph)
    assert type(written.nodes["p"]) is nir.Affine
    np.testing.assert_array_equal(written.nodes["p"].bias, [0.5, 0.5])
    np.testing.assert_array_equal(read_nir(written).populations["a"].params["bias"], [0.5, 0.5])


def test_bias_without_incoming_projection_is_an_error():
    graph = plain_graph([Projection("q", "in", "b", np.eye(2))], bias=0.5)
    with pytest.raises(FrontendError, match="population 'a'"):
        graph_to_nir(graph)


def test_delays_varying_by_source_and_target_are_an_error():
    delays = np.array([[0, 1], [1, 0]])
    graph = plain_graph([Projection("p", "in", "a", np.eye(2)),
                         Projection("q", "a", "b", np.ones((2, 2)), delays)])
    with pytest.raises(FrontendError, match=r"projection 'q'.*per-synapse"):
        graph_to_nir(graph)


def test_per_source_delays_become_a_delay_before_the_weight():
    delays = np.array([[1, 2], [1, 2]])
    graph = plain_graph([Projection("p", "in", "a", np.eye(2)),
                         Projection("q", "a", "b", np.ones((2, 2)), delays)])
    written = graph_to_nir(graph)
    assert ("a", "q_delay") in written.edges and ("q_delay", "q") in written.edges
    np.testing.assert_array_equal(read_nir(written).projections["q"].delay_steps, delays)


def test_back_edge_without_delay_is_an_error():
    graph = plain_graph([Projection("p", "in", "a", np.eye(2)),
                         Projection("ab", "a", "b", np.eye(2), np.array(1)),
                         Projection("ba", "b", "a", np.eye(2))])
    with pytest.raises(FrontendError, match=r"projection 'ba'.*cycle"):
        graph_to_nir(graph)
