"""An LSM survives NIR: write_nir/read_nir keep every value, write_lsm/read_lsm the form too."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.lsm import (
    EiPair,
    LsmParameters,
    build_lsm,
    read_lsm,
    train_readout,
    write_lsm,
)
from neurocc.frontends.nir import read_nir, write_nir
from neurocc.sim.reference import run_graph


@pytest.fixture(scope="module")
def trained():
    params = LsmParameters(n_inputs=6, shape=(5, 4, 3), n_readout=3, bias=0.05,
                           delay_s=EiPair(2e-3, 2e-3, 2e-3, 2e-3), reset="subtract")
    spikes = (np.random.default_rng(0).random((30, 20, 6)) < 0.2).astype(np.uint8)
    graph, _ = train_readout(build_lsm(params), spikes, np.arange(30) % 3)
    return graph, spikes


def assert_same_values(a, b):
    """Same populations (model, shape, reset, parameters) and projections (weights, delays)."""
    assert a.dt_s == b.dt_s and a.inputs == b.inputs and a.outputs == b.outputs
    for name, pop in a.populations.items():
        other = b.populations[name]
        assert (pop.model, pop.shape, pop.reset) == (other.model, other.shape, other.reset)
        for key, value in pop.params.items():
            np.testing.assert_array_equal(value, other.params[key], err_msg=f"{name}.{key}")
    assert sorted(a.projections) == sorted(b.projections)


def synapses(proj):
    """{(post, pre): (weight, delay)} of the nonzero synapses."""
    post, pre, weight, delay = proj.coo()
    keep = weight != 0
    return dict(zip(zip(post[keep].tolist(), pre[keep].tolist(), strict=True),
                    zip(weight[keep].tolist(), delay[keep].tolist(), strict=True), strict=True))


def test_plain_nir_round_trip_keeps_every_value(trained, tmp_path):
    graph, spikes = trained
    write_nir(graph, tmp_path / "lsm.nir")
    back = read_nir(tmp_path / "lsm.nir")
    assert_same_values(graph, back)
    for name, proj in graph.projections.items():
        assert synapses(proj) == synapses(back.projections[name]), name
    np.testing.assert_array_equal(run_graph(graph, spikes).states["v/readout"],
                                  run_graph(back, spikes).states["v/readout"])


def test_lsm_round_trip_keeps_the_csr_form_and_the_recipe(trained, tmp_path):
    graph, _ = trained
    write_lsm(graph, tmp_path / "lsm.nir")
    back = read_lsm(tmp_path / "lsm.nir")
    assert list(back.populations) == list(graph.populations)
    assert list(back.projections) == list(graph.projections)
    assert_same_values(graph, back)
    for name in ("input_reservoir", "reservoir_reservoir"):
        a, b = graph.projections[name], back.projections[name]
        assert b.is_sparse
        for attr in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(a.weight, attr), getattr(b.weight, attr))
        np.testing.assert_array_equal(a.delay_steps, b.delay_steps)
    assert int(back.projections["reservoir_reservoir"].delay_steps) == 2
    np.testing.assert_array_equal(back.projections["reservoir_readout"].weight,
                                  graph.projections["reservoir_readout"].weight)
    assert LsmParameters.from_json(back.metadata["lsm"]) == LsmParameters.from_json(
        graph.metadata["lsm"])
    assert back.metadata["lsm_readout"] == graph.metadata["lsm_readout"]


def test_maass_delays_cannot_be_written_to_nir(tmp_path):
    graph = build_lsm(LsmParameters(n_inputs=2, delay_s=EiPair(1.5e-3, 0.8e-3, 0.8e-3, 0.8e-3)))
    with pytest.raises(FrontendError, match=r"vary by both source and target"):
        write_lsm(graph, tmp_path / "lsm.nir")


def test_a_plain_nir_file_is_not_an_lsm(tmp_path):
    graph = build_lsm(LsmParameters(n_inputs=2, shape=(3, 3)))
    write_nir(graph, tmp_path / "plain.nir")
    with pytest.raises(FrontendError, match=r"plain\.nir.*no readable LSM recipe"):
        read_lsm(tmp_path / "plain.nir")


def test_a_damaged_recipe_is_refused(tmp_path):
    graph = build_lsm(LsmParameters(n_inputs=2, shape=(3, 3)))
    write_lsm(graph, tmp_path / "lsm.nir")
    with h5py.File(tmp_path / "lsm.nir", "r+") as handle:
        del handle["node/metadata/neurocc.lsm"]
        handle["node/metadata"].create_dataset("neurocc.lsm", data="{not json")
    with pytest.raises(FrontendError, match=r"no readable LSM recipe"):
        read_lsm(tmp_path / "lsm.nir")


def test_only_lsm_graphs_are_written(tmp_path):
    graph = build_lsm(LsmParameters(n_inputs=2, shape=(3, 3)))
    other = graph.replace(metadata={})
    with pytest.raises(FrontendError, match=r"build_lsm did not make"):
        write_lsm(other, tmp_path / "x.nir")
    assert not (tmp_path / "x.nir").exists()


def test_matrices_too_large_for_dense_nir_are_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr("neurocc.frontends.lsm.nirio.MAX_DENSE_BYTES", 1000)
    graph = build_lsm(LsmParameters(n_inputs=2, shape=(4, 4)))
    with pytest.raises(FrontendError, match=r"reservoir_reservoir.*dense NIR Linear"):
        write_lsm(graph, tmp_path / "big.nir")
    assert not (tmp_path / "big.nir").exists()
