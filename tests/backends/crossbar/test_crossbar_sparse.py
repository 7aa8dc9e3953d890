"""Crossbar family on sparse projections (issue 19): tiles counted and built from the CSR,
only occupied tiles programmed and read, the same results as the dense build, and a graph
too large for the chip refused from the counts (the tracemalloc test of a block-sparse
projection is in ``tests/test_scale.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import derive_target, load_target
from neurocc.backends.crossbar import mapping
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.crossbar import devices
from neurocc.sim.crossbar.devices import Device

LIF = {"tau_s": 20e-3, "v_threshold": 1.0}


def layer(weight: np.ndarray | sp.csr_array, recurrent: np.ndarray | sp.csr_array | None = None,
          delays: np.ndarray | None = None) -> Graph:
    """in -> h (lif), optionally h -> h with per-synapse delays."""
    n_h, n_in = weight.shape
    pops = {"in": Population("in", "input", (n_in,)),
            "h": Population("h", "lif", (n_h,), LIF, "to_value")}
    projs = {"drive": Projection("drive", "in", "h", weight)}
    if recurrent is not None:
        projs["rec"] = Projection("rec", "h", "h", recurrent,
                                  np.array(1) if delays is None else delays)
    return Graph(1e-3, pops, projs, ("in",), ("h",))


def small_network(sparse: bool) -> Graph:
    rng = np.random.default_rng(0)
    drive = rng.normal(2.0, 0.5, (300, 600)) * (rng.random((300, 600)) < 0.05)
    drive[:, 200:400] = 0  # a row block without synapses: no array
    rec = rng.normal(0.0, 0.2, (300, 300)) * (rng.random((300, 300)) < 0.1)
    delays = rng.integers(1, 3, rec.shape)
    if not sparse:
        return layer(drive, rec, delays)
    return layer(sp.csr_array(drive), sp.csr_array(rec), delays[rec != 0])


@pytest.mark.parametrize("target", ["pcm256", "rram256k+tiles"])
def test_sparse_and_dense_builds_run_identically(target: str) -> None:
    spec = derive_target("rram256k", tiles_per_chip=64) if target == "rram256k+tiles" \
        else target
    spikes = (np.random.default_rng(1).random((2, 15, 600)) < 0.1).astype(np.uint8)
    runs = []
    for sparse in (True, False):
        art = neurocc.compile(small_network(sparse), spec)
        runs.append((art, neurocc.simulate(art, spikes, seed=3, record_states=True)))
    (sparse_art, got), (dense_art, want) = runs
    assert sparse_art.layout["tiles"] == dense_art.layout["tiles"]  # same arrays, same seeds
    # 600 inputs as 3 x 200 rows (one block empty), 300 outputs as 3 x 100; delays 1 and 2
    drive = [t for t in sparse_art.layout["tiles"] if t["projection"] == "drive"]
    assert len(drive) == 6 and {tuple(t["rows"]) for t in drive} == {(0, 200), (400, 600)}
    assert want.spikes["h"].sum() > 0  # not two silent runs
    np.testing.assert_array_equal(got.spikes["h"], want.spikes["h"])
    np.testing.assert_array_equal(got.states["v/h"], want.states["v/h"])
    assert got.counters == want.counters


def test_too_many_arrays_fail_from_the_counts_before_any_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    n = 1 << 20  # 4096 row chunks of 256 inputs x 8192 column chunks of 128 outputs
    rng = np.random.default_rng(5)
    post, pre = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    weight = sp.csr_array((np.ones(post.size), (post, pre)), shape=(n, n))
    needed = np.unique((pre >> 8) * 8192 + (post >> 7)).size  # by hand: distinct tiles
    built: list[object] = []
    monkeypatch.setattr(mapping, "digits", lambda *a: built.append(a))  # must not be reached
    with pytest.raises(MappingError) as caught:
        neurocc.compile(layer(weight), "rram256k")
    message = str(caught.value)
    assert f"needs {needed} arrays, above the limit of tiles_per_chip = 4 (most: 'drive' " \
        f"{needed})" in message
    assert f"derive_target('rram256k', tiles_per_chip={needed})" in message
    assert built == []


def test_skipping_inert_effects_and_folding_arrays_change_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # rram256k: zero drift, stuck rates and read-gain spread (inert: not drawn), white read
    # noise (arrays folded at programming). Forcing every effect to be drawn and every array
    # to be read from G+ and G- must give the same run, bit for bit.
    art = neurocc.compile(small_network(True), derive_target("rram256k", tiles_per_chip=64))
    spikes = (np.random.default_rng(6).random((2, 10, 600)) < 0.1).astype(np.uint8)
    fast = neurocc.simulate(art, spikes, seed=2, record_states=True)
    monkeypatch.setattr(devices, "inert", lambda device, effect: False)
    monkeypatch.setattr(devices, "TIME_INVARIANT_READ_NOISE", frozenset())
    full = neurocc.simulate(art, spikes, seed=2, record_states=True)
    assert fast.spikes["h"].sum() > 0
    np.testing.assert_array_equal(fast.states["v/h"], full.states["v/h"])
    np.testing.assert_array_equal(fast.spikes["h"], full.spikes["h"])
    assert fast.counters == full.counters
    other = neurocc.simulate(art, spikes, seed=3, record_states=True)  # the seed still counts
    assert not np.array_equal(other.states["v/h"], full.states["v/h"])


def test_inert_effects_by_the_target_numbers() -> None:
    rram, pcm = Device.of(load_target("rram256k")), Device.of(load_target("pcm256"))
    assert devices.inert(rram, "drift") and devices.inert(rram, "stuck")
    assert devices.inert(rram, "d2d")
    assert not devices.inert(pcm, "drift")  # pcm256 drifts (aihwkit's nu law)
    spread = Device("rram", 4.0, 40.0, {**rram.values, "d2d_variation": 0.01})
    assert not devices.inert(spread, "d2d")
    assert not devices.inert(rram, "programming_noise")  # only the three listed can be


def test_progress_bars_count_the_arrays(capsys: pytest.CaptureFixture[str]) -> None:
    graph = layer(sp.csr_array(np.ones((200, 300))))  # 2 x 2 arrays on rram256k
    quiet = neurocc.compile(graph, "rram256k")
    shown = neurocc.compile(graph, "rram256k", progress=True)
    err = capsys.readouterr().err
    assert "crossbar arrays" in err and "4/4" in err
    assert shown.layout["tiles"] == quiet.layout["tiles"]
    assert shown.layout["options"] == quiet.layout["options"] == {"weight_slices": 1}
    neurocc.simulate(shown, np.ones((1, 2, 300), np.uint8), progress=True)
    err = capsys.readouterr().err
    assert "crossbar programming" in err and "4/4" in err and "crossbar sim" in err
