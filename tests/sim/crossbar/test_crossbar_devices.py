"""Device models against the numbers the reference computes from aihwkit's and CrossSim's
formulas (``shared/reference/crossbar-energy.md`` §1.1, §1.2: the [RUN] tables)."""

from __future__ import annotations

import numpy as np
import pytest

from neurocc.backends import load_target
from neurocc.compiler.errors import SimulationError
from neurocc.sim.crossbar import devices
from neurocc.sim.crossbar.devices import Device

PCM = Device.of(load_target("pcm256"))
RRAM = Device.of(load_target("rram256k"))
X = np.array([0.05, 0.1, 0.25, 0.5, 1.0])


def test_pcm_programming_sigma_matches_the_reference_table() -> None:
    sigma = devices.programming_sigma(PCM, X * 25.0)
    np.testing.assert_allclose(sigma, [0.36, 0.45, 0.68, 0.95, 1.06], atol=0.006)


def test_rram_programming_sigma_is_wans_cubic() -> None:
    # CrossSim RRAMWan at G = 0, 10, 20, 39 uS: 1.05, 2.41, 2.36, 1.67 uS
    sigma = devices.programming_sigma(RRAM, np.array([0.0, 10.0, 20.0, 39.0]))
    np.testing.assert_allclose(sigma, [1.05, 2.41, 2.36, 1.67], atol=0.01)


def test_programmed_conductances_have_that_spread_and_no_negative_value() -> None:
    rng = np.random.default_rng(0)
    g = devices.program(PCM, np.full(20000, 12.5), rng)
    assert g.mean() == pytest.approx(12.5, abs=0.03)
    assert g.std() == pytest.approx(0.95, rel=0.03)
    assert devices.program(PCM, np.zeros(1000), rng).min() == 0.0  # clamped as aihwkit


def test_pcm_drift_exponents_follow_the_clipped_log_laws() -> None:
    rng = np.random.default_rng(1)
    nu = devices.drift_exponents(PCM, np.full(40000, 0.5 * 25.0), rng)
    assert nu.mean() == pytest.approx(0.049, rel=0.02)  # clipped at its floor
    assert nu.std() == pytest.approx(0.008, rel=0.05)
    nu = devices.drift_exponents(PCM, np.full(40000, 0.05 * 25.0), rng)
    # nu_mean(0.05) = -0.0155 ln 0.05 + 0.0244 = 0.0708, nu_std = 0.0315 (folded: |.|)
    assert np.mean(nu) == pytest.approx(0.0712, rel=0.02)


def test_drift_factor_after_one_hour() -> None:
    # ((3600 + 20) / 20)^-0.049 = 0.775 (reference §6.2)
    assert float(devices.drift_factor(PCM, np.array(0.049), 3600.0)) == pytest.approx(0.775,
                                                                                      abs=1e-3)


def test_pcm_read_noise_matches_the_reference_table() -> None:
    hour, day = 3600.0, 86400.0
    assert float(devices.read_sigma(PCM, np.array(25.0), hour)) == pytest.approx(0.042, abs=1e-3)
    assert float(devices.read_sigma(PCM, np.array(2.5), day)) == pytest.approx(0.20, abs=5e-3)


def test_rram_read_noise_is_white() -> None:
    sigma = devices.read_sigma(RRAM, np.array([4.0, 40.0]), 1e5)
    np.testing.assert_allclose(sigma, [0.01, 0.01])


def test_conductance_at_drifts_then_adds_read_noise() -> None:
    rng = np.random.default_rng(2)
    g = devices.conductance_at(PCM, np.full(50000, 25.0), np.full(50000, 0.049), 3600.0, rng)
    assert g.mean() == pytest.approx(25.0 * 0.775, rel=0.005)
    assert g.std() / g.mean() == pytest.approx(0.042, rel=0.05)


def test_stuck_masks_have_their_rates_and_do_not_overlap() -> None:
    device = Device("rram", 4.0, 40.0, {**RRAM.values, "stuck_on_rate": 0.1,
                                        "stuck_off_rate": 0.2})
    on, off = devices.stuck_masks(device, (100000,), np.random.default_rng(3))
    assert on.mean() == pytest.approx(0.1, abs=0.005) and off.mean() == pytest.approx(0.2,
                                                                                     abs=0.005)
    assert not (on & off).any()


def test_switching_distribution_is_clipped_to_the_range() -> None:
    rng = np.random.default_rng(4)
    on = devices.switched(RRAM, "set", (50000,), rng)
    off = devices.switched(RRAM, "reset", (50000,), rng)
    assert on.min() >= 4.0 and on.max() <= 40.0 and off.min() >= 4.0
    assert on.mean() == pytest.approx(28.0, abs=0.3)  # slight pull of the clip at 40 uS
    assert off.mean() > 8.0  # the clip at g_min = 4 uS lifts the RESET mean
    with pytest.raises(SimulationError, match="no switching distribution"):
        devices.switched(PCM, "set", (2,), rng)
    with pytest.raises(SimulationError, match="not a pulse"):
        devices.switched(RRAM, "form", (2,), rng)


def test_read_gains_spread_and_stop_at_zero() -> None:
    rng = np.random.default_rng(5)
    small = Device("pcm", 0.0, 25.0, {**PCM.values, "d2d_variation": 0.05})
    gains = devices.read_gains(small, (50000,), rng)
    assert gains.mean() == pytest.approx(1.0, abs=0.002) and gains.std() == pytest.approx(
        0.05, rel=0.03)
    wide = Device("pcm", 0.0, 25.0, {**PCM.values, "d2d_variation": 2.0})
    assert devices.read_gains(wide, (1000,), rng).min() == 0.0  # a conductance is not negative
