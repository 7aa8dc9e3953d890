"""Every malformed input gives a FrontendError naming the file (and node where known)."""

from __future__ import annotations

import h5py
import nir
import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir import read_nir


def small(weight: np.ndarray | None = None, n_in: int = 3) -> nir.NIRGraph:
    weight = np.ones((2, 3)) if weight is None else weight
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Affine(weight=weight, bias=np.zeros(weight.shape[0])),
        "lif": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                       v_threshold=np.ones(2), v_reset=np.zeros(2)),
    }
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "lif")], type_check=False)


def test_missing_file(tmp_path):
    with pytest.raises(FrontendError, match=r"nothere\.nir.*does not exist"):
        read_nir(tmp_path / "nothere.nir")


def test_truncated_file(nir_file):
    path = nir_file(small())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FrontendError, match=r"model\.nir.*not a readable NIR file"):
        read_nir(path)


def test_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "text.nir"
    path.write_text("not a model")
    with pytest.raises(FrontendError, match=r"text\.nir"):
        read_nir(path)


def test_missing_parameter(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/lif/tau"]
    with pytest.raises(FrontendError, match=r"model\.nir, node 'lif' \(LIF\).*'tau'"):
        read_nir(path)


def test_nan_weight(nir_file):
    weight = np.ones((2, 3))
    weight[1, 2] = np.nan
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Affine\).*NaN"):
        read_nir(nir_file(small(weight)))


def test_infinite_neuron_parameter(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        handle["node/nodes/lif/v_threshold"][0] = np.inf
    with pytest.raises(FrontendError, match=r"node 'lif' \(LIF\).*v_threshold"):
        read_nir(path)


def test_unknown_node_type(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/fc/type"]
        handle["node/nodes/fc"].create_dataset("type", data="Gru", dtype=h5py.string_dtype())
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Gru\).*Supported types: "
                       r"Affine, AvgPool2d"):
        read_nir(path)


def test_cubali_is_not_supported():
    graph = nir.NIRGraph({"input": nir.Input(input_type={"input": np.array([1])}),
                          "cli": nir.CubaLI(tau_syn=np.ones(1), tau_mem=np.ones(1),
                                            r=np.ones(1), v_leak=np.zeros(1))},
                         [("input", "cli")], type_check=False)
    with pytest.raises(FrontendError, match=r"node 'cli' \(CubaLI\)"):
        read_nir(graph)


def test_shape_mismatch(nir_file):
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Affine\).*shape \[5\]"):
        read_nir(nir_file(small(n_in=5)))


def test_edge_to_unknown_node(nir_file):
    graph = small()
    graph.edges.append(("lif", "ghost"))
    with pytest.raises(FrontendError, match=r"model\.nir.*'ghost'"):
        read_nir(nir_file(graph))


def test_cycle_without_neuron(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "a": nir.Linear(weight=np.eye(2)), "b": nir.Linear(weight=np.eye(2))}
    graph = nir.NIRGraph(nodes, [("input", "a"), ("a", "b"), ("b", "a")], type_check=False)
    with pytest.raises(FrontendError, match=r"model\.nir, node 'a'.*cycle without a neuron"):
        read_nir(nir_file(graph))


def test_subgraph_with_two_inputs_addressed_as_a_whole(nir_file):
    sub = nir.NIRGraph({"x": nir.Input(input_type={"input": np.array([2])}),
                        "y": nir.Input(input_type={"input": np.array([2])}),
                        "n": nir.I(r=np.ones(2))}, [("x", "n"), ("y", "n")], type_check=False)
    graph = nir.NIRGraph({"input": nir.Input(input_type={"input": np.array([2])}), "g": sub},
                         [("input", "g")], type_check=False)
    with pytest.raises(FrontendError, match=r"model\.nir, subgraph 'g'.*2 Input"):
        read_nir(nir_file(graph))


def test_graph_errors_are_reported_against_the_file(nir_file):
    graph = small()
    graph.nodes["lif"].tau[:] = 0.0  # tau must be > 0: the graph's own check
    with pytest.raises(FrontendError, match=r"model\.nir: population 'lif'.*tau_s"):
        read_nir(nir_file(graph))


def test_same_padding_with_stride_is_an_error(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 3, 3)), stride=2,
                                padding="same", dilation=1, groups=1, bias=np.zeros(1)),
             "n": nir.IF(r=np.ones((1, 2, 2)), v_threshold=np.ones((1, 2, 2)))}
    graph = nir.NIRGraph(nodes, [("input", "conv"), ("conv", "n")], type_check=False)
    with pytest.raises(FrontendError, match=r"node 'conv' \(Conv2d\).*'same'"):
        read_nir(nir_file(graph))


def test_single_node_instead_of_graph():
    with pytest.raises(FrontendError, match="NIRGraph"):
        read_nir(nir.I(r=np.ones(1)))  # type: ignore[arg-type]
