"""The core's load-time arithmetic: spinn_common's table exp and sPyNNaker's constants, checked
against integers worked out by hand from the algorithm (shared/reference/spinnaker.md §2.4,
§2.6) with the table entries stdfix-exp.c lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurocc.backends.spinnaker import chip_math

# entries of stdfix-exp.c's tables, as the source lists them
EXP_HI_MINUS_3 = 213833830  # round(e**-3 * 2**32)
EXP_HI_MINUS_1 = 1580030169
EXP_HI_PLUS_10 = 94602950235157  # float64 rounding would give ...156: the tables need exact math
MID_5 = 1152702096  # round((1 - e**(-5/16)) * 2**32)


def by_hand_scale64(x: int, y: int) -> int:
    low = (x % 2 ** 32) * y
    return low // 2 ** 32 + (1 if low % 2 ** 32 >= 2 ** 31 - 1 else 0) + (x // 2 ** 32) * y


def by_hand_series(g: int) -> int:
    y = g * 2 ** 17
    tmp = 4293434720 - (2081624032 * y) // 2 ** 32
    return (tmp * y) // 2 ** 32 + 5294


def test_tables_hold_the_listed_integers() -> None:
    assert chip_math.EXP_HI[0] == 9708
    assert chip_math.EXP_HI[13] == 2 ** 32
    assert chip_math.EXP_HI[13 - 3] == EXP_HI_MINUS_3
    assert chip_math.EXP_HI[13 + 10] == EXP_HI_PLUS_10
    assert chip_math.EXPM1_MID[5] == MID_5
    assert chip_math.EXPM1_MID[15] == 2613033936


def test_expk_of_whole_numbers_is_the_table_truncated() -> None:
    assert chip_math.expk(0) == 32768
    # e**-1: 1580030169 >> 17 = 12054, where round(e**-1 * 2**15) = 12055
    assert chip_math.expk(-32768) == 12054
    assert round(math.exp(-1) * 2 ** 15) == 12055


def test_fast_synapse_decay_worked_by_hand() -> None:
    """tau_syn = 0.3 ms at dt = 1 ms, every step of the core's arithmetic written out."""
    ts = 32768  # 1.0 ms in s16.15
    tau = 9830  # round-half-even(0.3 * 2**15 = 9830.4)
    n = -((ts << 15) // tau)  # -kdivk(ts, tau) = -109231 (x = -3.3335)
    assert n == -109231
    # z = ceil(x) = -3, f = (z - x) * 2**15 = 10927: f >> 11 = 5, f & 0x7FF = 687
    f = -3 * 2 ** 15 - n
    assert (f >> 11, f & 0x7FF) == (5, 687)
    value = EXP_HI_MINUS_3
    value -= by_hand_scale64(value, MID_5)
    value -= by_hand_scale64(value, by_hand_series(687))
    decay, init = chip_math.synapse_constants(1e-3, 0.3e-3)
    assert decay == value == 153198536  # round(e**(-1/0.3) * 2**32) would be 153218635
    tau_over_ts = (tau << 15) // ts  # kdivk(tau, ts) = 9830
    assert init == (tau_over_ts * (2 ** 32 - 1 - value)) >> 15 == 1242480068
    assert init / 2 ** 32 == pytest.approx(0.289, abs=1e-3)  # the reference's 0.289


def test_membrane_decay_worked_by_hand() -> None:
    """tau_m = 20 ms: x = -1638/2**15 (0.05 truncated), only the series term is non-zero."""
    n = -((32768 << 15) // (20 * 32768))
    assert n == -1638
    value = 2 ** 32 - by_hand_scale64(2 ** 32, by_hand_series(1638))
    assert chip_math.membrane_decay(1e-3, 20e-3) == value >> 17 == 31170


def test_saturation_bounds() -> None:
    assert chip_math.expk(chip_math.EXP_MIN_BITS - 1) == 0
    assert chip_math.expk(chip_math.EXP_MAX_BITS + 1) == 2 ** 31 - 1
    assert chip_math.expulr(chip_math.EXP_MIN_BITS - 1) == 0


def test_expk_is_within_about_one_lsb_of_exp() -> None:
    # truncation (>> 17) loses up to one LSB; the tables and series add a little more
    n = np.arange(chip_math.EXP_MIN_BITS, chip_math.EXP_MAX_BITS // 100, 97)
    error = [abs(chip_math.expk(int(k)) - math.exp(k / 2 ** 15) * 2 ** 15) for k in n]
    assert max(error) < 1.1


@pytest.mark.parametrize(("tau_refrac_s", "ticks"), [(0.0, 0), (0.1e-3, 1), (1e-3, 1),
                                                     (2e-3, 2), (2.5e-3, 3)])
def test_refractory_ticks_are_the_ceiling(tau_refrac_s: float, ticks: int) -> None:
    # PyNN's default tau_refrac = 0.1 ms at dt = 1 ms is one full refractory tick (§2.4)
    assert chip_math.refractory_ticks(1e-3, tau_refrac_s) == ticks


def test_host_encoding_is_round_half_even_of_the_decimal() -> None:
    assert chip_math.encode_s1615(0.5 / 2 ** 15) == 0  # exactly half an LSB: to even
    assert chip_math.encode_s1615(1.5 / 2 ** 15) == 2
    assert chip_math.encode_s1615(chip_math.to_ms(0.3e-3)) == 9830
