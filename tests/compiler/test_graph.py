"""The graph validates itself on construction and names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.compiler.errors import GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import DEFAULT_RECEPTOR, NEURON_MODELS
from neurocc.compiler.serialize import graph_from_parts, graph_to_parts


def lif(name: str, size: int, **params: float) -> Population:
    values = {"tau_s": 4e-3, "v_threshold": 1.0, **params}
    return Population(name, "lif", (size,), values, reset="to_value")


def small_graph(**changes: object) -> Graph:
    pops = {"in": Population("in", "input", (3,)), "h": lif("h", 2)}
    projs = {"w": Projection("w", "in", "h", np.arange(6.0).reshape(2, 3))}
    fields = {"dt_s": 1e-3, "populations": pops, "projections": projs,
              "inputs": ("in",), "outputs": ("h",)}
    fields.update(changes)
    return Graph(**fields)  # type: ignore[arg-type]


def test_defaults_fill_and_broadcast_parameters() -> None:
    pop = lif("h", 4, v_leak=0.5)
    assert pop.params["r"].tolist() == [1.0] * 4
    assert pop.params["v_leak"].tolist() == [0.5] * 4
    assert pop.params["bias"].tolist() == [0.0] * 4


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda: small_graph(dt_s=0.0), "dt_s"),
    (lambda: small_graph(populations={"in": Population("in", "input", (3,)),
                                      "h": lif("h", 2, tau_s=-1.0)}), "tau_s"),
    (lambda: small_graph(projections={"w": Projection("w", "in", "h", np.ones((3, 2)))}),
     "weight shape (3, 2)"),
    (lambda: small_graph(projections={"w": Projection("w", "in", "h",
                                                      np.full((2, 3), np.nan))}), "NaN"),
    (lambda: small_graph(projections={"w": Projection("w", "in", "nowhere", np.ones((2, 3)))}),
     "unknown population 'nowhere'"),
    (lambda: small_graph(outputs=("missing",)), "output 'missing'"),
    (lambda: Population("p", "hodgkin_huxley", (2,)).verify(), "unknown neuron model"),
    (lambda: small_graph(populations={"in": Population("in", "input", (3,)),
                                      "h": Population("h", "lif", (2,), {"tau_s": 1e-3,
                                                      "v_threshold": 1.0}, reset="none")}),
     "reset mode 'none'"),
    (lambda: small_graph(projections={"w": Projection("w", "in", "h", np.ones((2, 3)),
                                                      np.full((2, 3), -1))}), "negative delay"),
])
def test_bad_graphs_raise_graph_error_naming_the_node(make, fragment: str) -> None:
    with pytest.raises(GraphError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_zero_delay_cycle_is_rejected_and_delayed_cycle_accepted() -> None:
    rec = Projection("rec", "h", "h", np.eye(2))
    with pytest.raises(GraphError, match="cycle h -> h"):
        small_graph(projections={"w": Projection("w", "in", "h", np.ones((2, 3))), "rec": rec})
    delayed = Projection("rec", "h", "h", np.eye(2), np.ones((), dtype=np.int64))
    graph = small_graph(projections={"w": Projection("w", "in", "h", np.ones((2, 3))),
                                     "rec": delayed})
    assert graph.step_order() == ["in", "h"]


def test_step_order_follows_zero_delay_edges_not_insertion_order() -> None:
    pops = {"b": lif("b", 1), "a": lif("a", 1), "in": Population("in", "input", (1,))}
    projs = {"p1": Projection("p1", "in", "a", np.ones((1, 1))),
             "p2": Projection("p2", "a", "b", np.ones((1, 1)))}
    graph = Graph(1e-3, pops, projs, ("in",), ("b",))
    assert graph.step_order() == ["in", "a", "b"]


def test_coo_lists_dense_and_sparse_synapses_with_delays() -> None:
    dense = Projection("d", "a", "b", np.array([[1.0, 0.0], [2.0, 3.0]]),
                       np.array([[1, 2], [3, 4]]))
    post, pre, w, d = dense.coo()
    assert post.tolist() == [0, 0, 1, 1] and pre.tolist() == [0, 1, 0, 1]
    assert w.tolist() == [1.0, 0.0, 2.0, 3.0] and d.tolist() == [1, 2, 3, 4]
    sparse = Projection("s", "a", "b", sp.csr_array(np.array([[0.0, 5.0], [6.0, 0.0]])),
                        np.array([7, 8]))
    post, pre, w, d = sparse.coo()
    assert list(zip(post, pre, w, d, strict=True)) == [(0, 1, 5.0, 7), (1, 0, 6.0, 8)]


def test_graph_is_immutable_and_passes_append_history() -> None:
    graph = small_graph()
    with pytest.raises(ValueError, match="read-only"):
        graph.projections["w"].weight[0, 0] = 5.0
    newer = graph.with_record("prune", removed=3)
    assert graph.history == () and newer.history[0].name == "prune"
    assert newer.history[0].details == {"removed": 3}


def test_serialize_round_trip_keeps_everything() -> None:
    pops = {"in": Population("in", "input", (3,)), "h": lif("h", 2, bias=0.25)}
    projs = {"w": Projection("w", "in", "h", sp.csr_array(np.array([[0, 1.5, 0], [2.0, 0, 0]])),
                             np.array([1, 2]), {"nir": {"type": "Linear"}})}
    graph = Graph(1e-3, pops, projs, ("in",), ("h",), {"source": "x.nir"}).with_record("a", n=1)
    again = graph_from_parts(*graph_to_parts(graph))
    assert again.dt_s == graph.dt_s and again.metadata == {"source": "x.nir"}
    assert again.history[0].details == {"n": 1}
    assert again.projections["w"].dense_weight().tolist() == [[0, 1.5, 0], [2.0, 0, 0]]
    assert again.projections["w"].delay_steps.tolist() == [1, 2]
    assert again.populations["h"].params["bias"].tolist() == [0.25, 0.25]


# -- receptors ---------------------------------------------------------------------------------
def cur_exp(name: str, size: int) -> Population:
    params = {"tau_mem_s": 4e-3, "tau_syn_exc_s": 2e-3, "tau_syn_inh_s": 3e-3, "v_threshold": 1.0}
    return Population(name, "lif_cur_exp", (size,), params, reset="subtract")


def two_receptor_graph(exc: str | None = "excitatory", inh: str | None = "inhibitory") -> Graph:
    pops = {"in": Population("in", "input", (3,)), "h": cur_exp("h", 2)}
    projs = {"e": Projection("e", "in", "h", np.ones((2, 3)), receptor=exc),  # type: ignore[arg-type]
             "i": Projection("i", "in", "h", -np.ones((2, 3)), receptor=inh)}  # type: ignore[arg-type]
    return Graph(1e-3, pops, projs, ("in",), ("h",))


def test_every_current_driven_model_has_the_single_default_receptor() -> None:
    receptors = {name: model.receptors for name, model in NEURON_MODELS.items()}
    assert DEFAULT_RECEPTOR == "current"
    assert receptors.pop("input") == ()
    assert receptors.pop("lif_cur_exp") == ("excitatory", "inhibitory")
    # egru is gate-driven, not current-driven: its receptors are its gates
    assert receptors.pop("egru") == ("update", "reset", "candidate", "candidate_recurrent")
    assert set(receptors.values()) == {("current",)}


def test_receptor_defaults_to_the_targets_single_receptor() -> None:
    graph = small_graph()
    assert graph.projections["w"].receptor == ""
    assert graph.receptor_of(graph.projections["w"]) == "current"
    named = small_graph(projections={"w": Projection("w", "in", "h", np.ones((2, 3)),
                                                     receptor="current")})
    assert named.receptor_of(named.projections["w"]) == "current"


def test_two_receptor_model_takes_named_receptors() -> None:
    graph = two_receptor_graph()
    assert [graph.receptor_of(p) for p in graph.projections.values()] == ["excitatory",
                                                                          "inhibitory"]
    assert graph.populations["h"].params["bias"].tolist() == [0.0, 0.0]  # defaults like cubalif
    assert graph.populations["h"].params["r"].tolist() == [1.0, 1.0]


def test_receptor_the_model_lacks_is_refused_naming_projection_and_receptors() -> None:
    with pytest.raises(GraphError, match=r"projection 'w' \(in -> h\): feeds receptor "
                       r"'excitatory', but model 'lif' of 'h' has the receptors \['current'\]"):
        small_graph(projections={"w": Projection("w", "in", "h", np.ones((2, 3)),
                                                 receptor="excitatory")})
    with pytest.raises(GraphError, match=r"projection 'i' .*'inhibit'.*\['excitatory', "
                       r"'inhibitory'\]"):
        two_receptor_graph(inh="inhibit")


@pytest.mark.parametrize("missing", ["", None])
def test_missing_receptor_is_refused_where_the_model_has_several(missing: str | None) -> None:
    with pytest.raises(GraphError, match=r"projection 'e' \(in -> h\): names no receptor, but "
                       r"model 'lif_cur_exp' of 'h' has the receptors \['excitatory', "
                       r"'inhibitory'\]\. Set receptor="):
        two_receptor_graph(exc=missing)


def test_a_receptor_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(GraphError, match=r"projection 'e'.*has receptor 3, not a name"):
        two_receptor_graph(exc=3)  # type: ignore[arg-type]


def test_serialize_keeps_receptors_and_omits_the_default() -> None:
    graph = two_receptor_graph()
    description, arrays = graph_to_parts(graph)
    assert [p["receptor"] for p in description["projections"]] == ["excitatory", "inhibitory"]
    again = graph_from_parts(description, arrays)
    assert [p.receptor for p in again.projections.values()] == ["excitatory", "inhibitory"]
    plain, _ = graph_to_parts(small_graph())
    assert "receptor" not in plain["projections"][0]  # old readers see what they always saw


def test_descriptions_without_receptor_or_with_null_still_load() -> None:
    description, arrays = graph_to_parts(small_graph())
    assert graph_from_parts(description, arrays).projections["w"].receptor == ""
    description["projections"][0]["receptor"] = None
    assert graph_from_parts(description, arrays).projections["w"].receptor == ""
