"""The pass manager and prune.magnitude: hand-counted effects, history, requires/provides."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.compiler import passes
from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.passes import parse_pass_spec, run_pass, run_pipeline

W_DENSE = np.array([[0.1, -0.5, 0.0], [2.0, 0.05, -0.3]])


def network(sparse: bool = False) -> Graph:
    pops = {"in": Population("in", "input", (3,)),
            "h": Population("h", "lif", (2,), {"tau_s": 2e-3, "v_threshold": 1.0}, "to_value")}
    weight = sp.csr_array(W_DENSE) if sparse else W_DENSE
    return Graph(1e-3, pops, {"w": Projection("w", "in", "h", weight)}, ("in",), ("h",))


def test_threshold_removes_small_weights_and_records_the_cost() -> None:
    graph = network()
    pruned = run_pass(graph, "prune.magnitude", {"threshold": 0.2})
    kept = np.array([[0.0, -0.5, 0.0], [2.0, 0.0, -0.3]])
    np.testing.assert_array_equal(pruned.projections["w"].weight, kept)
    record = pruned.history[-1]
    assert record.name == "prune.magnitude"
    assert record.details["options"] == {"fraction": None, "threshold": 0.2,
                                         "per_projection": False}
    effect = record.details["effect"]
    assert (effect["synapses_before"], effect["synapses_after"]) == (5, 3)
    # removed 0.1 and 0.05 of |w| = (0.1, 0.5, 2, 0.05, 0.3)
    expected = np.sqrt(0.1**2 + 0.05**2) / np.sqrt(0.01 + 0.25 + 4 + 0.0025 + 0.09)
    assert effect["weight_rel_error"] == pytest.approx(expected)
    assert record.details["provides"] == ["pruned"]
    np.testing.assert_array_equal(graph.projections["w"].weight, W_DENSE)  # input untouched


def test_fraction_on_sparse_weights_drops_entries_and_their_delays() -> None:
    graph = network(sparse=True)
    delays = np.arange(5)  # one per stored entry, CSR order: 0.1, -0.5, 2.0, 0.05, -0.3
    proj = graph.projections["w"]
    graph = graph.replace(projections={"w": Projection("w", "in", "h", proj.weight, delays)})
    pruned = run_pass(graph, "prune.magnitude", {"fraction": 0.4})  # the 2 smallest of 5
    weight = pruned.projections["w"].weight
    assert weight.nnz == 3
    np.testing.assert_array_equal(weight.data, [-0.5, 2.0, -0.3])
    np.testing.assert_array_equal(pruned.projections["w"].delay_steps, [1, 2, 4])


def test_specs_parse_and_pipelines_run_in_order() -> None:
    assert parse_pass_spec("prune.magnitude:fraction=0.5, per_projection=true") == (
        "prune.magnitude", {"fraction": "0.5", "per_projection": "true"})
    graph = run_pipeline(network(), ["prune.magnitude:threshold=0.2",
                                     ("prune.magnitude", {"fraction": 0.5})])
    assert [r.name for r in graph.history] == ["prune.magnitude"] * 2
    assert graph.history[1].details["effect"]["synapses_before"] == 3


@pytest.mark.parametrize("spec, message", [
    ("prune.magnitude:fraction", "'fraction' is not key=value"),
    (":fraction=1", "names no pass"),
    ("prune.nothing", "not a registered pass.*prune.magnitude"),
    ("prune.magnitude:fraction=2", "fraction.*0..1"),
    ("prune.magnitude", "exactly one of 'fraction' and 'threshold'"),
    ("prune.magnitude:fraction=x", "option 'fraction'.*'x'"),
])
def test_bad_pass_specs_say_what_to_write(spec: str, message: str) -> None:
    with pytest.raises(NeuroccError, match=message):
        run_pipeline(network(), [spec])


@dataclass(frozen=True)
class NoOptions:
    pass


def test_a_pass_runs_only_after_what_it_requires(monkeypatch) -> None:
    monkeypatch.setitem(passes.PASSES, "needs.pruned", passes.Pass(
        "needs.pruned", lambda g, o: (g, {}), NoOptions, "test", requires=("pruned",)))
    with pytest.raises(NeuroccError, match=r"requires \['pruned'\]"):
        run_pipeline(network(), ["needs.pruned"])
    graph = run_pipeline(network(), ["prune.magnitude:threshold=0", "needs.pruned"])
    assert graph.history[-1].name == "needs.pruned"
