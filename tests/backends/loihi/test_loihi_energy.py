"""The energy model prices the engine's counters with the target file's figures."""

from __future__ import annotations

import pytest

from neurocc.backends.loihi.energy import energy_report
from neurocc.backends.loihi.spec import load_loihi_target
from neurocc.compiler.errors import SimulationError

COUNTERS = {"synops": 1000, "neuron_updates": 800, "neuron_updates_active": 200,
            "spikes": 50, "input_spikes": 30, "spike_messages": 80, "hops_eastwest": 40,
            "hops_northsouth": 20, "steps": 100}


def test_loihi1_totals_by_hand() -> None:
    report = energy_report(COUNTERS, load_loihi_target("loihi1"), n_inferences=2)
    # per inference: 500 synops x 23.6 + 100 x 81 + 300 x 52 + 40 x 1.7 + 20 x 3.0 + 10 x 4.0
    energy = 500 * 23.6 + 100 * 81 + 300 * 52 + 40 * 1.7 + 20 * 3.0 + 10 * 4.0
    assert energy == pytest.approx(35668.0)
    assert report["energy_per_inference_pj"] == pytest.approx(energy)
    assert report["energy_per_inference_uj"] == pytest.approx(energy * 1e-6)
    assert report["breakdown"]["synops"]["energy_pj"] == pytest.approx(11800.0)
    # time: 500 x 3.5 + 100 x 8.4 + 300 x 5.3 + 40 x 2.1 + 20 x 4.1 + 10 x 6.5 + 50 steps x
    # the 32-tile barrier 465 ns (no tile count given)
    time = 500 * 3.5 + 100 * 8.4 + 300 * 5.3 + 40 * 2.1 + 20 * 4.1 + 10 * 6.5 + 50 * 465
    assert report["time_per_inference_ns"] == pytest.approx(time)
    assert report["energy_bound"].startswith("lower bound (synops")
    assert "upper bound" in report["time_bound"] and "synops" in report["time_bound"]
    assert report["missing_counters"] == []


def test_barrier_interpolates_in_tiles_and_parallel_estimate() -> None:
    spec = load_loihi_target("loihi1")
    report = energy_report({"steps": 10}, spec, 1, tiles_used=1, cores_used=4)
    assert report["breakdown"]["barrier_sync"]["time_ns"] == pytest.approx(10 * 113)
    # 16.5 tiles would be half-way: check 32 and a clamp above it
    assert energy_report({"steps": 1}, spec, 1, tiles_used=64)["time_per_inference_ns"] == \
        pytest.approx(465)
    half = 113 + (465 - 113) * (9 - 1) / 31
    assert energy_report({"steps": 1}, spec, 1, tiles_used=9)["time_per_inference_ns"] == \
        pytest.approx(half)
    assert report["time_per_inference_parallel_estimate_ns"] == pytest.approx(10 * 113)
    assert set(report["missing_counters"]) == {"synops", "neuron_updates_active",
                                               "neuron_updates", "spike_messages",
                                               "hops_eastwest", "hops_northsouth"}


def test_loihi2_report_says_its_figures_are_assumed() -> None:
    report = energy_report(COUNTERS, load_loihi_target("loihi2"), 2)
    assert any("energy_per_synop_pj: assumed" in note for note in report["notes"])
    assert report["breakdown"]["barrier_sync"]["energy_figure"]["status"] == "not-published"


def test_zero_inferences_is_an_error() -> None:
    with pytest.raises(SimulationError, match="n_inferences"):
        energy_report(COUNTERS, load_loihi_target("loihi1"), 0)
