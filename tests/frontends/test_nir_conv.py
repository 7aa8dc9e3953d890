"""Convolution and pooling lowering checked against torch.nn.functional."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neurocc.frontends.nir import graph_to_nir, read_nir, write_nir

torch = pytest.importorskip("torch")
F = torch.nn.functional
RNG = np.random.default_rng(3)


def _if(shape: tuple[int, ...]) -> nir.IF:
    return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def _through(node: nir.NIRNode, in_shape: tuple[int, ...], out_shape: tuple[int, ...]):
    nodes = {"input": nir.Input(input_type={"input": np.array(in_shape)}), "layer": node,
             "n": _if(out_shape)}
    return nir.NIRGraph(nodes, [("input", "layer"), ("layer", "n")], type_check=False)


CONV2D_CASES = [  # (C_in, H, W, C_out, K, stride, padding, dilation, groups)
    (2, 7, 6, 4, (3, 3), 1, 0, 1, 1),
    (2, 7, 6, 4, (3, 2), (2, 1), (1, 2), 1, 1),
    (4, 8, 8, 6, (3, 3), 1, "same", 2, 2),
    (3, 9, 7, 3, (2, 4), 1, "same", 1, 3),
    (2, 6, 6, 2, (3, 3), 2, "valid", (1, 2), 1),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_matches_torch(nir_file, case):
    c_in, h, w, c_out, kernel, stride, padding, dilation, groups = case
    weight = RNG.normal(size=(c_out, c_in // groups, *kernel))
    bias = RNG.normal(size=c_out)
    x = RNG.normal(size=(c_in, h, w))
    expected = F.conv2d(torch.tensor(x[None]), torch.tensor(weight), torch.tensor(bias),
                        stride=stride, padding=padding, dilation=dilation, groups=groups)[0]
    out_shape = tuple(expected.shape)
    node = nir.Conv2d(input_shape=(h, w), weight=weight, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, bias=bias)
    graph = read_nir(nir_file(_through(node, (c_in, h, w), out_shape)))
    proj = graph.projections["layer"]
    assert proj.is_sparse and graph.populations["n"].shape == out_shape
    got = proj.weight @ x.reshape(-1) + graph.populations["n"].params["bias"]
    np.testing.assert_allclose(got, expected.numpy().reshape(-1), rtol=1e-12, atol=1e-12)
    again = read_nir(graph_to_nir(graph))
    assert type(graph_to_nir(graph).nodes["layer"]) is nir.Conv2d
    np.testing.assert_array_equal(again.projections["layer"].dense_weight(), proj.dense_weight())
    np.testing.assert_array_equal(again.populations["n"].params["bias"],
                                  graph.populations["n"].params["bias"])


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, "same", 2)])
def test_conv1d_matches_torch(nir_file, stride, padding, dilation):
    weight, bias, x = RNG.normal(size=(3, 2, 3)), RNG.normal(size=3), RNG.normal(size=(2, 10))
    expected = F.conv1d(torch.tensor(x[None]), torch.tensor(weight), torch.tensor(bias),
                        stride=stride, padding=padding, dilation=dilation)[0]
    node = nir.Conv1d(input_shape=10, weight=weight, stride=stride, padding=padding,
                      dilation=dilation, groups=1, bias=bias)
    graph = read_nir(nir_file(_through(node, (2, 10), tuple(expected.shape))))
    got = graph.projections["layer"].weight @ x.reshape(-1) + graph.populations["n"].params["bias"]
    np.testing.assert_allclose(got, expected.numpy().reshape(-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kind", "kernel", "stride", "padding"), [
    ("SumPool2d", (2, 2), (2, 2), (0, 0)), ("AvgPool2d", (2, 2), (2, 2), (0, 0)),
    ("AvgPool2d", (3, 2), (1, 2), (1, 1)), ("SumPool2d", (3, 3), (2, 2), (1, 1))])
def test_pooling_matches_torch_avg_pool(nir_file, kind, kernel, stride, padding):
    x = RNG.normal(size=(3, 7, 8))
    expected = F.avg_pool2d(torch.tensor(x[None]), kernel, stride, padding)[0].numpy()
    if kind == "SumPool2d":
        expected = expected * np.prod(kernel)  # count_include_pad: avg = sum / window
    node = getattr(nir, kind)(kernel_size=np.array(kernel), stride=np.array(stride),
                              padding=np.array(padding))
    graph = read_nir(nir_file(_through(node, x.shape, expected.shape)))
    got = graph.projections["input->n"].weight
    np.testing.assert_allclose(got @ x.reshape(-1), expected.reshape(-1), rtol=1e-12)


def test_cnn_chain_round_trips_node_by_node(nir_file, tmp_path, compare):
    """sinabs-style: conv -> IF -> sumpool -> conv -> IF -> flatten -> affine -> IF."""
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
        "conv1": nir.Conv2d(input_shape=(8, 8), weight=RNG.normal(size=(4, 2, 3, 3)), stride=1,
                            padding=1, dilation=1, groups=1, bias=RNG.normal(size=4)),
        "if1": _if((4, 8, 8)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "conv2": nir.Conv2d(input_shape=(4, 4), weight=RNG.normal(size=(3, 4, 3, 3)), stride=1,
                            padding=0, dilation=1, groups=1, bias=np.zeros(3)),
        "if2": _if((3, 2, 2)),
        "flat": nir.Flatten(input_type={"input": np.array([3, 2, 2])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=RNG.normal(size=(5, 12)), bias=RNG.normal(size=5)),
        "if3": _if((5,)),
        "output": nir.Output(output_type={"output": np.array([5])}),
    }
    edges = [("input", "conv1"), ("conv1", "if1"), ("if1", "pool"), ("pool", "conv2"),
             ("conv2", "if2"), ("if2", "flat"), ("flat", "fc"), ("fc", "if3"), ("if3", "output")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))
    x = RNG.normal(size=(4, 8, 8))
    expected = F.conv2d(F.avg_pool2d(torch.tensor(x[None]), 2) * 4, torch.tensor(
        nodes["conv2"].weight))[0].numpy()
    np.testing.assert_allclose(graph.projections["conv2"].weight @ x.reshape(-1),
                               expected.reshape(-1), rtol=1e-12)
    written = graph_to_nir(graph)
    assert {n: type(v).__name__ for n, v in written.nodes.items()} == {
        n: type(v).__name__ for n, v in nodes.items()}
    assert sorted(written.edges) == sorted(edges)
    path = tmp_path / "again.nir"
    write_nir(graph, path)
    compare(graph, read_nir(path))


def test_pruned_conv_falls_back_to_linear(nir_file):
    node = nir.Conv2d(input_shape=(4, 4), weight=RNG.normal(size=(1, 1, 3, 3)), stride=1,
                      padding=1, dilation=1, groups=1, bias=np.zeros(1))
    graph = read_nir(nir_file(_through(node, (1, 4, 4), (1, 4, 4))))
    proj = graph.projections["layer"]
    pruned = proj.weight.copy()
    pruned.data[0] = 0.0  # one synapse of a shared kernel entry changed: not a conv any more
    from neurocc.compiler.graph import Projection

    graph = graph.replace(projections={"layer": Projection("layer", "input", "n", pruned)})
    written = graph_to_nir(graph)
    assert type(written.nodes["layer"]) is nir.Linear
    np.testing.assert_array_equal(read_nir(written).projections["layer"].dense_weight(),
                                  pruned.toarray())
