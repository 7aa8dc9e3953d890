"""read -> write -> read keeps nodes, parameters and edges."""

from __future__ import annotations

import itertools

import nir
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurocc.frontends.nir import graph_to_nir, read_nir, write_nir

RNG = np.random.default_rng(11)


def neuron(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> nir.NIRNode:
    def u(low: float = 0.1, high: float = 1.0) -> np.ndarray:
        return rng.uniform(low, high, size=shape)

    makers = {
        "LIF": lambda: nir.LIF(tau=u(1e-3, 2e-2), r=u(), v_leak=u(), v_threshold=u(),
                               v_reset=u()),
        "CubaLIF": lambda: nir.CubaLIF(tau_syn=u(1e-3, 1e-2), tau_mem=u(1e-3, 2e-2), r=u(),
                                       v_leak=u(), v_threshold=u(), v_reset=u(), w_in=u()),
        "IF": lambda: nir.IF(r=u(), v_threshold=u(), v_reset=u()),
        "LI": lambda: nir.LI(tau=u(1e-3, 2e-2), r=u(), v_leak=u()),
        "I": lambda: nir.I(r=u()),
        "Threshold": lambda: nir.Threshold(threshold=u()),
    }
    return makers[kind]()


def types_of(graph: nir.NIRGraph) -> dict[str, str]:
    return {name: type(node).__name__ for name, node in graph.nodes.items()}


def check_round_trip(model: nir.NIRGraph, nir_file, tmp_path, compare) -> None:
    first = read_nir(nir_file(model))
    written = graph_to_nir(first)
    assert types_of(written) == types_of(model)
    assert sorted(written.edges) == sorted(model.edges)
    path = tmp_path / "again.nir"
    write_nir(first, path)
    second = read_nir(path)
    compare(first, second)
    assert second.metadata["dt_source"] == "file" and second.dt_s == first.dt_s


def test_every_node_type_round_trips(nir_file, tmp_path, compare):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 3])}),
        "flat": nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=RNG.normal(size=(4, 6)), bias=RNG.normal(size=4)),
        "lif": neuron("LIF", (4,), RNG),
        "lin": nir.Linear(weight=RNG.normal(size=(4, 4))),
        "cuba": neuron("CubaLIF", (4,), RNG),
        "gain": nir.Scale(scale=RNG.normal(size=4)),
        "wait": nir.Delay(delay=np.array([0.001, 0.002, 0.0, 0.003])),
        "if": neuron("IF", (4,), RNG),
        "li": neuron("LI", (4,), RNG),
        "i": neuron("I", (4,), RNG),
        "thr": neuron("Threshold", (4,), RNG),
        "readout": nir.Linear(weight=RNG.normal(size=(2, 4))),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "flat"), ("flat", "fc"), ("fc", "lif"), ("lif", "lin"), ("lin", "cuba"),
             ("cuba", "gain"), ("gain", "wait"), ("wait", "if"), ("if", "li"), ("li", "i"),
             ("i", "thr"), ("thr", "readout"), ("readout", "output")]
    check_round_trip(nir.NIRGraph(nodes, edges, metadata={"dt": 1e-3}, type_check=False),
                     nir_file, tmp_path, compare)


def test_avgpool_and_conv1d_round_trip(nir_file, tmp_path, compare):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 4, 4])}),
        "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "a": neuron("IF", (2, 2, 2), RNG),
        "flat": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=1, end_dim=2),
        "conv": nir.Conv1d(input_shape=4, weight=RNG.normal(size=(3, 2, 2)), stride=1,
                           padding=0, dilation=1, groups=1, bias=RNG.normal(size=3)),
        "b": neuron("LIF", (3, 3), RNG),
    }
    edges = [("input", "pool"), ("pool", "a"), ("a", "flat"), ("flat", "conv"), ("conv", "b")]
    check_round_trip(nir.NIRGraph(nodes, edges, metadata={"dt": 1e-3}, type_check=False),
                     nir_file, tmp_path, compare)


def test_recurrent_round_trip_keeps_one_step_feedback(nir_file, tmp_path, compare):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc": nir.Affine(weight=RNG.normal(size=(4, 3)), bias=np.zeros(4)),
        "lif": neuron("LIF", (4,), RNG),
        "w_rec": nir.Linear(weight=RNG.normal(size=(4, 4))),
        "output": nir.Output(output_type={"output": np.array([4])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
             ("lif", "output")]
    model = nir.NIRGraph(nodes, edges, metadata={"dt": 1e-3}, type_check=False)
    check_round_trip(model, nir_file, tmp_path, compare)
    assert int(read_nir(nir_file(model)).projections["w_rec"].delay_steps) == 1


NEURONS = ("LIF", "CubaLIF", "IF", "LI")


@st.composite
def layered(draw: st.DrawFn) -> nir.NIRGraph:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type={"input": np.array(
        [sizes[0]])})}
    edges, previous = [], "input"
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        fc, pop = f"fc{i}", f"pop{i}"
        nodes[fc] = nir.Affine(weight=rng.normal(size=(n_out, n_in)), bias=rng.normal(size=n_out))
        nodes[pop] = neuron(draw(st.sampled_from(NEURONS)), (n_out,), rng)
        edges += [(previous, fc), (fc, pop)]
        if draw(st.booleans()):
            nodes[f"rec{i}"] = nir.Linear(weight=rng.normal(size=(n_out, n_out)))
            edges += [(pop, f"rec{i}"), (f"rec{i}", pop)]
        previous = pop
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    edges.append((previous, "output"))
    dt = draw(st.sampled_from([1e-4, 1e-3]))
    return nir.NIRGraph(nodes, edges, metadata={"dt": dt}, type_check=False)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=layered())
def test_random_layered_graphs_round_trip(tmp_path_factory, compare, model):
    tmp = tmp_path_factory.mktemp("rt")
    nir.write(tmp / "a.nir", model)
    first = read_nir(tmp / "a.nir")
    assert types_of(graph_to_nir(first)) == types_of(model)
    assert sorted(graph_to_nir(first).edges) == sorted(model.edges)
    for name, node in model.nodes.items():
        if isinstance(node, nir.Affine):
            target = next(b for a, b in model.edges if a == name)
            np.testing.assert_array_equal(first.populations[target].params["bias"], node.bias)
        if name.startswith("rec"):
            assert int(first.projections[name].delay_steps) == 1
    write_nir(first, tmp / "b.nir")
    compare(first, read_nir(tmp / "b.nir"))
