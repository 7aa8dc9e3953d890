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


def delayed_network(n: int, per_neuron: int, seed: int, dense: bool = False) -> Graph:
    """input (n) -> hidden (n lif) with one random delay of 1..6 steps per synapse (Lava
    delays 0..5), and a recurrent projection with delays 1..3; CSR, or dense with the
    same synapses (entries without a synapse get delay 1, the smallest, so both builds
    have the same timing offsets)."""
    rng = np.random.default_rng(seed)

    def projection(name: str, source: str, scale: float, longest: int) -> Projection:
        rows = np.repeat(np.arange(n), per_neuron)
        w = sp.csr_array((rng.uniform(scale / 2, 1.5 * scale, rows.size),
                          (rows, rng.integers(0, n, rows.size))), shape=(n, n))
        w.sum_duplicates()
        delays = rng.integers(1, longest + 1, w.nnz)
        if not dense:
            return Projection(name, source, "h", w, delays)
        full = np.ones((n, n), np.int64)
        full[np.repeat(np.arange(n), np.diff(w.indptr)), w.indices] = delays
        return Projection(name, source, "h", w.toarray(), full)

    pops = {"in": Population("in", "input", (n,)),
            "h": Population("h", "lif", (n,), LIF, "to_value")}
    projs = {"drive": projection("drive", "in", 3.0, 6), "rec": projection("rec", "h", 0.3, 3)}
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


def test_sparse_delayed_network_runs_like_the_same_network_built_dense() -> None:
    """Per-synapse delays: DelaySparse (CSR) and DelayDense builds give the same spikes."""
    sparse, dense = delayed_network(200, 10, 11), delayed_network(200, 10, 11, dense=True)
    got_art, want_art = neurocc.compile(sparse, "loihi2"), neurocc.compile(dense, "loihi2")
    assert {p["process"] for p in got_art.layout["projections"].values()} == {"DelaySparse"}
    assert {p["process"] for p in want_art.layout["projections"].values()} == {"DelayDense"}
    spikes = input_spikes(200, 40, 12, 0.1)
    got, want = neurocc.simulate(got_art, spikes), neurocc.simulate(want_art, spikes)
    assert want.spikes["h"].sum() > 0
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


def _compile_write_read_simulate(graph: Graph, directory: Path, n: int) -> None:
    art = neurocc.compile(graph, derive_target("loihi2", chips=16))
    art = read_artifact(write_artifact(art, directory))
    neurocc.simulate(art, input_spikes(n, 3, 8, 0.01))


def test_no_dense_matrix_for_a_sparse_projection(tmp_path: Path) -> None:
    n = 20_000  # a dense (n, n) float64 matrix would take 3.2 GB, int8 400 MB
    graph = random_network(n, 10, 7)
    peak = _traced_peak(lambda: _compile_write_read_simulate(graph, tmp_path / "art", n))
    assert peak < n * n // 4  # below one byte per (post, pre) entry


def test_no_dense_matrix_for_a_sparse_projection_with_delays(tmp_path: Path) -> None:
    """Per-synapse delays on CSR projections (DelaySparse): no (post, pre) delay matrix."""
    n = 20_000
    graph = delayed_network(n, 10, 13)
    peak = _traced_peak(lambda: _compile_write_read_simulate(graph, tmp_path / "art", n))
    assert peak < n * n // 4  # a quarter of a byte per (post, pre) entry


@pytest.mark.slow  # about 10 s under tracemalloc
def test_no_dense_matrix_for_2m_delayed_synapses(tmp_path: Path) -> None:
    """20 k x 20 k, 2 x 50 synapses per neuron (2 M in all), random Lava delays 0..5."""
    n = 20_000
    graph = delayed_network(n, 50, 14)
    peak = _traced_peak(lambda: _compile_write_read_simulate(graph, tmp_path / "art", n))
    # measured ~0.5 byte per (post, pre) entry (~100 per synapse, the compiler's quantize
    # and mapping); ~34 bytes per entry when delays went dense (a DelayDense)
    assert peak < n * n


def test_no_dense_matrix_in_the_spinnaker_engine() -> None:
    n = 20_000  # a dense (n, n) block of words would take 1.6 GB in int32
    graph = random_network(n, 10, 7)
    art = neurocc.compile(graph, derive_target("spinnaker2", chips_x=2))
    spikes = input_spikes(n, 10, 8, 0.05)
    result = neurocc.simulate(art, spikes)  # compiles the engine's kernels outside the trace
    assert result.spikes["h"].sum() > 0  # the recurrent projection delivers events too
    assert _traced_peak(lambda: neurocc.simulate(art, spikes)) < n * n // 16
    # every event of the run, counted from the CSR weights: each spike reaches its
    # out-degree, and a spike of the last tick lands after the run (delays of one tick)
    drive, rec = (graph.projections[k].weight for k in ("drive", "rec"))
    sent_in = spikes[0, :-1].sum(axis=0)
    sent_h = result.spikes["h"][0, :-1].sum(axis=0)
    expected = sent_in @ np.bincount(drive.indices, minlength=n) + sent_h @ np.bincount(
        rec.indices, minlength=n)
    assert result.counters["synops"] == int(expected)


@pytest.mark.slow  # about 20 s under tracemalloc
def test_no_dense_matrix_in_the_spinnaker_compiler() -> None:
    n = 20_000
    graph = random_network(n, 10, 7)
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


def block_sparse(n: int, blocks: np.ndarray, size: int, density: float, seed: int
                 ) -> sp.csr_array:
    """Synapses only inside the (post block, pre block) squares ``blocks`` of ``size``."""
    rng = np.random.default_rng(seed)
    posts, pres = [], []
    for bi, bj in blocks:
        r, c = np.nonzero(rng.random((size, size)) < density)
        posts.append(bi * size + r)
        pres.append(bj * size + c)
    post, pre = np.concatenate(posts), np.concatenate(pres)
    return sp.csr_array((rng.uniform(0.5, 1.5, post.size), (post, pre)), shape=(n, n))


def test_no_dense_matrix_on_the_crossbar_family(tmp_path: Path) -> None:
    n, size = 20_480, 256  # 80 x 256 inputs; a dense (n, n) int8 matrix would take 419 MB
    rng = np.random.default_rng(2)
    keys = rng.choice((n // size) ** 2, 40, replace=False)
    blocks = np.stack(np.divmod(keys, n // size), axis=1)
    pops = {"in": Population("in", "input", (n,)),
            "h": Population("h", "lif", (n,), LIF, "to_value")}
    drive = Projection("drive", "in", "h", block_sparse(n, blocks, size, 0.1, 3))
    graph = Graph(1e-3, pops, {"drive": drive}, ("in",), ("h",))
    target = derive_target("rram256k", tiles_per_chip=100)
    spikes = (np.random.default_rng(4).random((1, 3, n)) < 0.01).astype(np.uint8)
    done = {}

    def run() -> None:
        art = read_artifact(write_artifact(neurocc.compile(graph, target), tmp_path / "art"))
        done["art"], done["result"] = art, neurocc.simulate(art, spikes, seed=1)

    peak = _traced_peak(run)
    art = done["art"]
    # rows = 256 inputs, 128 outputs per array: each block is exactly two full arrays
    assert art.layout["resources"]["tiles"]["used"] == 2 * len(blocks)
    want = {(int(bj) * size, int(bi) * size + half) for bi, bj in blocks for half in (0, 128)}
    assert {(t["rows"][0], t["cols"][0]) for t in art.layout["tiles"]} == want
    assert art.layout["resources"]["cells"]["used"] == 2 * len(blocks) * 256 * 128 * 2
    assert art.sections["crossbar"]["tile/0/codes"].dtype == np.int8  # 16 levels: |d| <= 15
    result = done["result"]
    # each array with an active row is read once per step; the others are skipped
    assert result.counters["array_reads"] + result.counters["tiles_skipped"] == 3 * 80
    # the programmed conductances (2 x float64 per cell pair) of 80 arrays: ~42 MB
    assert peak < n * n // 4  # far below one byte per (post, pre) entry
