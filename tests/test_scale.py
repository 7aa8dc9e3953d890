"""Scale (issue 19): sparse projections from graph to artifact to engine, at 100 k neurons,
without a dense (post x pre) matrix; an interrupted artifact write leaves nothing."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import artifact as artifact_io
from neurocc.backends import derive_target
from neurocc.backends.artifact import read_artifact, write_artifact
from neurocc.compiler.graph import Graph, Population, Projection

LIF = {"tau_s": 20e-3, "v_threshold": 1.0}


def random_network(n: int, per_neuron: int, seed: int, dense: bool = False,
                   drive: float = 3.0) -> Graph:
    """input (n) -> hidden (n lif) -> hidden (delay 1), ``per_neuron`` random sources each."""
    rng = np.random.default_rng(seed)

    def weights(scale: float) -> sp.csr_array:
        rows = np.repeat(np.arange(n), per_neuron)
        cols = rng.integers(0, n, rows.size)
        w = sp.csr_array((rng.uniform(scale / 2, 1.5 * scale, rows.size), (rows, cols)),
                         shape=(n, n))
        w.sum_duplicates()
        return w.toarray() if dense else w

    pops = {"in": Population("in", "input", (n,)),
            "h": Population("h", "lif", (n,), LIF, "to_value")}
    projs = {"drive": Projection("drive", "in", "h", weights(drive)),
             "rec": Projection("rec", "h", "h", weights(0.05), np.array(1))}
    return Graph(1e-3, pops, projs, ("in",), ("h",))


def input_spikes(n: int, steps: int, seed: int, rate: float) -> np.ndarray:
    return (np.random.default_rng(seed).random((1, steps, n)) < rate).astype(np.uint8)


@pytest.mark.parametrize("target", ["loihi2", "spinnaker2"])
def test_sparse_network_runs_like_the_same_network_built_dense(target: str) -> None:
    sparse, dense = random_network(300, 12, 3), random_network(300, 12, 3, dense=True)
    assert sparse.projections["drive"].is_sparse and not dense.projections["drive"].is_sparse
    spikes = input_spikes(300, 30, 4, 0.1)
    got = neurocc.simulate(neurocc.compile(sparse, target), spikes)
    want = neurocc.simulate(neurocc.compile(dense, target), spikes)
    assert want.spikes["h"].sum() > 0  # the comparison is not between two silent runs
    np.testing.assert_array_equal(got.spikes["h"], want.spikes["h"])
    assert got.counters["synops"] == want.counters["synops"]


def test_100k_neurons_compile_write_read_and_simulate(tmp_path: Path) -> None:
    n, per_neuron = 100_000, 10
    graph = random_network(n, per_neuron, 5)
    target = derive_target("loihi2", chips=64)
    art = read_artifact(write_artifact(neurocc.compile(graph, target), tmp_path / "art"))
    spikes = input_spikes(n, 4, 6, 0.01)
    result = neurocc.simulate(art, spikes)
    # synaptic events, counted from the CSR weights: each spike reaches its out-degree
    drive, rec = (graph.projections[k].weight for k in ("drive", "rec"))
    out_in = np.bincount(drive.indices, minlength=n)
    out_h = np.bincount(rec.indices, minlength=n)
    hidden = result.spikes["h"][0].sum(axis=0)
    assert result.counters["synops"] == int(spikes[0].sum(axis=0) @ out_in + hidden @ out_h)
    # cores: at most 4096 distinct sources each, so at least 2 * n * 10 / 4096 of them
    assert art.layout["resources"]["cores"]["used"] >= 2 * n * per_neuron // 4096
    assert art.layout["resources"]["synapses"]["used"] == drive.nnz + rec.nnz


def _traced_peak(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_no_dense_matrix_for_a_sparse_projection(tmp_path: Path) -> None:
    n = 20_000  # a dense (n, n) float64 matrix would take 3.2 GB, int8 400 MB
    graph = random_network(n, 10, 7)

    def run() -> None:
        art = neurocc.compile(graph, derive_target("loihi2", chips=16))
        art = read_artifact(write_artifact(art, tmp_path / "art"))
        neurocc.simulate(art, input_spikes(n, 3, 8, 0.01))

    assert _traced_peak(run) < n * n // 4  # below one byte per (post, pre) entry


@pytest.mark.slow  # the SpiNNaker mapper takes about a minute under tracemalloc
def test_no_dense_matrix_in_the_spinnaker_compiler() -> None:
    n = 20_000
    graph = random_network(n, 10, 7)
    # the compiler only: the SpiNNaker engine expands each delay block densely
    peak = _traced_peak(lambda: neurocc.compile(graph, derive_target("spinnaker2", chips_x=2)))
    assert peak < n * n // 4


def test_an_interrupted_write_leaves_no_artifact(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    art = neurocc.compile(random_network(50, 5, 9), "loihi2")
    real, calls = artifact_io.write_npz, []

    def interrupted(path: Path, arrays: dict[str, np.ndarray],
                    *advance: Callable[[int], object]) -> tuple[str, dict[str, str]]:
        calls.append(path)
        if len(calls) in (2, 4):  # Ctrl-C after the first file is on disk
            raise KeyboardInterrupt
        return real(path, arrays, *advance)

    monkeypatch.setattr(artifact_io, "write_npz", interrupted)
    for progress in (False, True):  # with the progress bar too
        with pytest.raises(KeyboardInterrupt):
            write_artifact(art, tmp_path / "art", progress=progress)
        assert calls[-2].exists() is False  # the staged file went too
        assert list(tmp_path.iterdir()) == []
    assert len(calls) == 4
    monkeypatch.setattr(artifact_io, "write_npz", real)
    write_artifact(art, tmp_path / "art")
    assert list(tmp_path.iterdir()) == [tmp_path / "art"]  # no staging left after success
    assert read_artifact(tmp_path / "art").target == "loihi2"


def test_progress_bars_change_no_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    art = neurocc.compile(random_network(300, 20, 4), "loihi2")
    plain, shown = write_artifact(art, tmp_path / "plain"), \
        write_artifact(art, tmp_path / "shown", progress=True)
    err = capsys.readouterr().err
    assert "write artifact" in err and "100%" in err
    assert sorted(p.name for p in plain.iterdir()) == sorted(p.name for p in shown.iterdir())
    for name in (p.name for p in plain.iterdir()):
        assert (plain / name).read_bytes() == (shown / name).read_bytes()
    back = read_artifact(shown, progress=True)
    err = capsys.readouterr().err
    assert "read artifact" in err and "100%" in err
    again = read_artifact(plain)
    for key, value in again.sections["loihi"].items():
        np.testing.assert_array_equal(back.sections["loihi"][key], value)
