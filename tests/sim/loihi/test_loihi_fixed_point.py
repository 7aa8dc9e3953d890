"""Lava's fixed-point rules, one by one: hand-computed cases and Lava's own weight utilities.

``LAVA`` is the arithmetic of the packaged loihi2 target (Lava's own numbers);
the cases at the end run the same rules with an edited target's numbers.
"""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.backends.loihi.spec import load_loihi_target
from neurocc.compiler.errors import SimulationError
from neurocc.sim.loihi import fixed_point as fx

LAVA = fx.arithmetic_of(load_loihi_target("loihi2"))

weightutils = pytest.importorskip("lava.utils.weightutils")
LAVA_MODES = {fx.SignMode.MIXED: weightutils.SignMode.MIXED,
              fx.SignMode.EXCITATORY: weightutils.SignMode.EXCITATORY,
              fx.SignMode.INHIBITORY: weightutils.SignMode.INHIBITORY}


def lava_effective(weights: np.ndarray, num_weight_bits: int) -> np.ndarray:
    """What PyDenseModelBitAcc does to its weights on the first step (Lava's own functions)."""
    w = weights.astype(np.int32)
    mode = weightutils.determine_sign_mode(w)
    w = weightutils.clip_weights(w, mode, num_bits=8)
    return weightutils.truncate_weights(w, mode, num_weight_bits)


@pytest.mark.parametrize("num_weight_bits", range(1, 9))
@pytest.mark.parametrize("low, high", [(-400, 400), (0, 400), (-400, 0), (-3, 3), (0, 0)])
def test_effective_weights_equal_lava_weightutils(num_weight_bits, low, high):
    rng = np.random.default_rng(num_weight_bits * 1000 + low)
    weights = rng.integers(low, high + 1, size=(7, 9))
    ours = fx.effective_weights(weights, weights.size, num_weight_bits, LAVA)
    np.testing.assert_array_equal(ours, lava_effective(weights, num_weight_bits))


def test_sparse_sign_mode_counts_implicit_zeros_like_lava():
    # stored values all negative, but the matrix has implicit zeros: Lava's np.min/np.max of
    # the scipy matrix see the zeros, so the mode is inhibitory (max <= 0)
    matrix = sp.csr_matrix(np.array([[-5, 0], [0, -7]]))
    assert weightutils.determine_sign_mode(matrix) == weightutils.SignMode.INHIBITORY
    assert fx.sign_mode_of(matrix.data, 4) is fx.SignMode.INHIBITORY
    full = np.array([3, 5])  # stored, no implicit zeros
    assert fx.sign_mode_of(full, 2) is fx.SignMode.EXCITATORY
    assert fx.sign_mode_of(np.array([3, -5]), 2) is fx.SignMode.MIXED


@pytest.mark.parametrize("mode", list(fx.SignMode))
@pytest.mark.parametrize("num_weight_bits", [1, 5, 8])
def test_truncate_matches_lava(mode, num_weight_bits):
    weights = np.arange(-256, 256).reshape(16, 32)
    if mode is fx.SignMode.EXCITATORY:
        weights = np.abs(weights)
    elif mode is fx.SignMode.INHIBITORY:
        weights = -np.abs(weights)
    clipped = fx.clip_weights(weights, mode, LAVA)
    np.testing.assert_array_equal(clipped, weightutils.clip_weights(weights, LAVA_MODES[mode], 8))
    np.testing.assert_array_equal(
        fx.truncate_weights(clipped, mode, num_weight_bits, LAVA),
        weightutils.truncate_weights(clipped, LAVA_MODES[mode], num_weight_bits))


def test_clip_and_truncate_by_hand():
    # mixed, 8 bits: clip to [-256, 255], then drop 1 LSB with a floor: -3 -> -4, 3 -> 2
    np.testing.assert_array_equal(fx.effective_weights(np.array([-300, -3, 3, 300]), 4, 8, LAVA),
                                  [-256, -4, 2, 254])
    # inhibitory, 6 bits: magnitudes clipped to 255 and floored to multiples of 4
    np.testing.assert_array_equal(fx.effective_weights(np.array([-300, -7, 0]), 3, 6, LAVA),
                                  [-252, -4, 0])


def test_weight_exp_shifts_left_and_floors_right():
    np.testing.assert_array_equal(fx.apply_weight_exp(np.array([5, -5]), 2), [20, -20])
    np.testing.assert_array_equal(fx.apply_weight_exp(np.array([5, -5]), -1), [2, -3])
    np.testing.assert_array_equal(fx.apply_weight_exp(np.array([5, -5]), 0), [5, -5])


def test_decay_truncates_toward_zero():
    # u * (4096 - 2049) / 4096 = u * 0.49975...: 3 -> 1, -3 -> -1 (not -2)
    state = np.array([3, -3, 4096, -4097, 0], dtype=np.int32)
    np.testing.assert_array_equal(fx.decay_toward_zero(state, 2047, LAVA), [1, -1, 2047, -2047, 0])


def test_current_wraps_once_like_lava():
    big = LAVA.u_max
    current = np.array([big, big + 1, -big + 1, -big, 3 * big], dtype=np.int32)
    # 2**23 stays; 2**23 + 1 -> 1 - 2**23; -2**23 -> +2**23; 3 * 2**23 wraps once only
    np.testing.assert_array_equal(fx.wrap_current(current, LAVA),
                                  [big, big + 1 - 2 * big, -big + 1, big, big])


def test_bias_exponent_shifts_both_ways():
    np.testing.assert_array_equal(fx.effective_bias(np.array([3, -3, -3]), np.array([2, 0, -1])),
                                  [12, -3, -2])


@pytest.mark.parametrize("vth_scaled, spiked, v_after", [(64, True, 0), (116, False, 116)])
def test_lif_step_by_hand(vth_scaled, spiked, v_after):
    # du = 4095 (u decays fully), dv = 0 (v keeps all), bias 2, a_in 1 (enters u as 1 << 6)
    u = np.array([[100]], dtype=np.int32)
    v = np.array([[50]], dtype=np.int32)
    spikes = fx.lif_step(u, v, np.array([[1]], dtype=np.int32), u_keep=0, v_keep=4096,
                         bias=np.array([2], dtype=np.int32), vth_scaled=vth_scaled,
                         arith=LAVA)
    assert u[0, 0] == 64
    assert bool(spikes[0, 0]) is spiked  # v = 50 + 64 + 2 = 116; spikes only when > threshold
    assert v[0, 0] == v_after


def test_voltage_saturates():
    u = np.array([[LAVA.u_max - 10]], dtype=np.int32)
    v = np.array([[-LAVA.u_max + 5]], dtype=np.int32)
    fx.lif_step(u, v, np.array([[0]], dtype=np.int32), u_keep=4096, v_keep=4096,
                bias=np.array([0], dtype=np.int32), vth_scaled=LAVA.v_max, arith=LAVA)
    assert v[0, 0] == 5 - 10 + 0  # -2**23 + 5 + 2**23 - 10
    u[0, 0], v[0, 0] = -LAVA.u_max + 1, -LAVA.u_max + 1
    fx.lif_step(u, v, np.array([[0]], dtype=np.int32), u_keep=4096, v_keep=4096,
                bias=np.array([0], dtype=np.int32), vth_scaled=LAVA.v_max, arith=LAVA)
    assert v[0, 0] == LAVA.v_min


# -- the same rules with an edited target's numbers ------------------------------------------
EDITED = dataclasses.replace(LAVA, u_bits=20, v_bits=20, decay_shift_bits=8, du_bits=8,
                             dv_bits=8, weight_clip_bits=6, act_shift_bits=3)


def test_edited_widths_wrap_u_and_saturate_v_there():
    big = 1 << 19  # 20-bit u: wraps above 2**19 by 2**20
    current = np.array([big, big + 1, -big + 1, -big], dtype=np.int32)
    np.testing.assert_array_equal(fx.wrap_current(current, EDITED),
                                  [big, big + 1 - 2 * big, -big + 1, big])
    u = np.array([[0]], dtype=np.int32)
    v = np.array([[big - 10]], dtype=np.int32)
    # keep 256 of 256 (no decay, 8-bit shift); a_in 5 enters u as 5 << 3 = 40
    fx.lif_step(u, v, np.array([[5]], dtype=np.int32), u_keep=256, v_keep=256,
                bias=np.array([0], dtype=np.int32), vth_scaled=1 << 30, arith=EDITED)
    assert u[0, 0] == 40
    assert v[0, 0] == big - 1  # 2**19 - 10 + 40 saturates at 2**19 - 1


def test_edited_decay_shift_and_clip_width():
    # 3 * 127 = 381 >> 8 = 1, truncated toward zero for -3 too
    np.testing.assert_array_equal(
        fx.decay_toward_zero(np.array([3, -3, 256], dtype=np.int32), 127, EDITED), [1, -1, 127])
    # 6 clip bits: mixed [-64, 63]; 4 weight bits of a mixed matrix drop 6 - 4 + 1 = 3 LSBs
    np.testing.assert_array_equal(fx.effective_weights(np.array([-100, -9, 9, 100]), 4, 4,
                                                       EDITED), [-64, -16, 8, 56])


@pytest.mark.parametrize("key, value", [("u_bits", 40), ("act_shift_bits", 32),
                                        ("weight_exp_min", -40)])
def test_widths_beyond_int32_registers_are_refused(key, value):
    spec = load_loihi_target("loihi2")
    edited = type(spec)(spec.name, spec.family, spec.description, spec.path,
                        {**spec.entries, key: dataclasses.replace(spec.entries[key], value=value)},
                        spec.sections)
    with pytest.raises(SimulationError, match=rf"'(neuron|synapse)\.{key}'.*is {value}"):
        fx.arithmetic_of(edited)
