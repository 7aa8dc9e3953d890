"""Receptors through NIR: node metadata ``{"neurocc.receptor": NAME}`` is read and written,
files without it load as before, and what NIR cannot express is refused by name."""

from __future__ import annotations

import itertools

import nir
import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.nir import graph_to_nir, read_nir, write_nir

KEY = "neurocc.receptor"


def lif_node(n: int) -> nir.LIF:
    return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),
                   v_threshold=np.ones(n), v_reset=np.zeros(n))


def chain(*middle: tuple[str, nir.NIRNode]) -> nir.NIRGraph:
    """input (2) -> middle nodes -> lif (2) -> output."""
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}), **dict(middle),
             "lif": lif_node(2), "output": nir.Output(output_type={"output": np.array([2])})}
    names = list(nodes)
    return nir.NIRGraph(nodes, list(itertools.pairwise(names)), type_check=False)


def affine(**metadata: str) -> nir.Affine:
    return nir.Affine(weight=np.array([[1.0, 2.0], [3.0, 4.0]]), bias=np.zeros(2),
                      metadata=dict(metadata))


def test_node_metadata_names_the_receptor(nir_file):
    graph = read_nir(nir_file(chain(("fc", affine(**{KEY: "current"})))))
    assert graph.projections["fc"].receptor == "current"
    assert graph.receptor_of(graph.projections["fc"]) == "current"


def test_files_without_the_key_load_with_the_default_receptor(nir_file):
    graph = read_nir(nir_file(chain(("fc", affine(note="unrelated metadata")))))
    assert graph.projections["fc"].receptor == ""
    assert graph.receptor_of(graph.projections["fc"]) == "current"


def test_unknown_receptor_names_the_node_and_the_targets_receptors(nir_file):
    path = nir_file(chain(("fc", affine(**{KEY: "excitatory"}))))
    with pytest.raises(FrontendError, match=r"node 'fc' \(Affine\): names receptor 'excitatory' "
                       r"\(metadata 'neurocc.receptor'\), but its target 'lif' \(lif\) has the "
                       r"receptors \['current'\]\. Name one of those") as info:
        read_nir(path)
    assert str(path) in str(info.value)


def test_one_path_naming_two_receptors_is_refused(nir_file):
    delay = nir.Delay(delay=np.zeros(2), metadata={KEY: "other"})
    with pytest.raises(FrontendError, match=r"node 'wait' \(Delay\): ends a path whose nodes "
                       r"name different receptors \{'fc': 'current', 'wait': 'other'\}"):
        read_nir(nir_file(chain(("fc", affine(**{KEY: "current"})), ("wait", delay))))


# -- writing ------------------------------------------------------------------------------------
def lif(name: str, shape: tuple[int, ...]) -> Population:
    size = int(np.prod(shape))
    return Population(name, "lif", shape, {"tau_s": np.full(size, 0.01),
                                           "v_threshold": np.ones(size)}, "to_value")


def receptor_graph(receptor: str = "current") -> Graph:
    """Every kind of path with an explicit receptor: Linear, conv (from NIR), a neuron feeding
    a neuron directly (as the reader records it: an empty chain), the same delayed (a Delay
    node, no weighted one) and a recurrent edge; "plain" keeps the default."""
    conv = read_nir(chain(("conv", nir.Conv1d(input_shape=2, weight=np.ones((1, 1, 1)),
                                              stride=1, padding=0, dilation=1, groups=1,
                                              bias=np.zeros(1)))))
    pops = {"in": Population("in", "input", (2,)), "a": lif("a", (2,)), "b": lif("b", (2,)),
            "c": lif("c", (2,))}
    conv_proj = conv.projections["conv"]
    projs = [Projection("w", "in", "a", np.array([[1.0, -2.0], [0.5, 0.0]]), receptor=receptor),
             Projection("conv", "a", "b", conv_proj.weight, metadata=conv_proj.metadata,
                        receptor=receptor),
             Projection("a->c", "a", "c", sp.csr_array(np.eye(2)), metadata={"nir": {"chain": []}},
                        receptor=receptor),
             Projection("rec", "c", "c", -np.eye(2), np.array(1), receptor=receptor),
             Projection("a->b", "a", "b", sp.csr_array(np.eye(2)), np.array(2),
                        metadata={"nir": {"chain": []}}, receptor=receptor),
             Projection("plain", "c", "b", np.ones((2, 2)))]
    return Graph(1e-3, pops, {p.name: p for p in projs}, ("in",), ("b",))


def test_explicit_receptors_round_trip(tmp_path, compare):
    graph = receptor_graph()
    written = graph_to_nir(graph)
    carriers = {name: node.metadata.get(KEY) for name, node in written.nodes.items()
                if node.metadata}
    assert carriers == {"w": "current", "conv": "current", "a->c": "current", "rec": "current",
                        "a->b_delay": "current"}
    assert type(written.nodes["a->c"]) is nir.Scale  # the direct edge got a node to carry it
    write_nir(graph, tmp_path / "first.nir")
    again = read_nir(tmp_path / "first.nir")
    assert {n: p.receptor for n, p in again.projections.items()} == {
        "w": "current", "conv": "current", "a->c": "current", "rec": "current",
        "a->b": "current", "plain": ""}
    for name, proj in graph.projections.items():
        np.testing.assert_array_equal(again.projections[name].dense_weight(),
                                      proj.dense_weight())
        assert again.projections[name].delay_steps == proj.delay_steps
    write_nir(again, tmp_path / "second.nir")  # files list nodes by name: compare file to file
    third = read_nir(tmp_path / "second.nir")
    compare(again, third)
    assert {n: p.receptor for n, p in third.projections.items()} == {
        n: p.receptor for n, p in again.projections.items()}


def test_official_reader_keeps_the_metadata(tmp_path):
    path = tmp_path / "receptors.nir"
    write_nir(receptor_graph(), path)
    value = nir.read(path, type_check=False).nodes["w"].metadata[KEY]
    assert (value.decode() if isinstance(value, bytes) else value) == "current"


def test_default_receptors_write_no_metadata():
    graph = receptor_graph("")
    assert all(not node.metadata for node in graph_to_nir(graph).nodes.values())


def test_writer_refuses_lif_cur_exp_naming_the_population():
    params = {"tau_mem_s": 0.01, "tau_syn_exc_s": 0.005, "tau_syn_inh_s": 0.005,
              "v_threshold": 1.0}
    pops = {"in": Population("in", "input", (2,)),
            "e": Population("e", "lif_cur_exp", (2,), params, "subtract")}
    projs = {"x": Projection("x", "in", "e", np.eye(2), receptor="excitatory"),
             "y": Projection("y", "in", "e", -np.eye(2), receptor="inhibitory")}
    graph = Graph(1e-3, pops, projs, ("in",), ("e",))
    with pytest.raises(FrontendError, match=r"population 'e' \(lif_cur_exp\): has the neuron "
                       r"model 'lif_cur_exp', which NIR cannot express .* Keep the graph in "
                       r"neurocc's own form .*lif, cubalif"):
        graph_to_nir(graph)
