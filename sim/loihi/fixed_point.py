"""Lava's fixed-point arithmetic, one small function per rule.

Every constant mirrors a line of lava-nc 0.10.0; the comment beside it names
the file and the attribute. The functions work on whole arrays (any shape), so
the engine applies them to a (batch, neurons) block at once.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

# lava/proc/lif/models.py, AbstractPyLifModelFixed.__init__
DECAY_SHIFT = 12  # decay_shift: decays are MSB-aligned to 12 bits
DECAY_UNITY = 1 << DECAY_SHIFT  # decay_unity = 2**12
DS_OFFSET = 1  # ds_offset: added to du, so du = 4095 decays u fully
DM_OFFSET = 0  # dm_offset: added to dv
UV_BITS = 24  # uv_bitwidth: u and v are 24-bit registers
MAX_UV = 1 << (UV_BITS - 1)  # max_uv_val = 2**23
UV_WRAP = 2 * MAX_UV  # u wraps by 2**24
V_MIN = -MAX_UV + 1  # neg_voltage_limit
V_MAX = MAX_UV - 1  # pos_voltage_limit
VTH_SHIFT = 6  # vth_shift: threshold compared as vth << 6
ACT_SHIFT = 6  # act_shift: synaptic input enters u as a_in << 6
# lava/proc/lif/models.py, PyLifModelBitAcc docstring (the Var precisions)
DECAY_MAX = (1 << 12) - 1  # du, dv: unsigned 12-bit
VTH_MAX = (1 << 17) - 1  # vth: unsigned 17-bit
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1  # bias_mant: signed 13-bit
BIAS_EXP_MAX = 7  # bias_exp: 3 bits; Lava right-shifts for a negative exponent
# lava/proc/dense/models.py, PyDenseModelBitAcc.run_spk: clip_weights(..., num_bits=8)
WEIGHT_CLIP_BITS = 8
# lava/utils/weightutils.py, truncate_weights(max_num_weight_bits=8)
MAX_NUM_WEIGHT_BITS = 8
DEFAULT_NUM_WEIGHT_BITS = 8  # proc_params.get("num_weight_bits", 8)
# lava/proc/dense/models.py, PyDelayDenseModelBitAcc: "delays ... between 0 and 63"
MAX_DELAY = 63
# int64 shifts of 63 or more are not defined in C; Lava's weight_exp never comes near
MAX_WEIGHT_EXP = 31


class SignMode(Enum):
    """lava/utils/weightutils.py ``SignMode`` (the values Lava's Dense can infer)."""

    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32: what Lava's int32 buffers and ports do on overflow."""
    return np.asarray(values).astype(np.int32, copy=False)


def sign_mode_of(weights: np.ndarray, n_entries: int) -> SignMode:
    """``determine_sign_mode``: from the min and max over every entry of the matrix.

    ``weights`` are the stored values; ``n_entries`` the matrix size. Entries
    not stored (a sparse matrix) are zeros and take part, as in ``np.min`` of
    a scipy matrix.
    """
    values = np.asarray(weights)
    low = int(values.min()) if values.size else 0
    high = int(values.max()) if values.size else 0
    if values.size < n_entries:
        low, high = min(low, 0), max(high, 0)
    if low >= 0:
        return SignMode.EXCITATORY
    if high <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


def clip_bounds(mode: SignMode) -> tuple[int, int]:
    """The range ``clip_weights(..., num_bits=8)`` clips to (on the magnitude if inhibitory)."""
    low = -(1 << WEIGHT_CLIP_BITS) if mode is SignMode.MIXED else 0
    return low, (1 << WEIGHT_CLIP_BITS) - 1


def clip_weights(weights: np.ndarray, mode: SignMode) -> np.ndarray:
    """``clip_weights(w, mode, num_bits=8)``: int32, then clip to the mode's 8-bit range.

    Mixed: [-256, 255]; excitatory: [0, 255]; inhibitory: negate, [0, 255], negate.
    """
    w = wrap_int32(weights)
    low, high = clip_bounds(mode)
    if mode is SignMode.INHIBITORY:
        return -np.minimum(np.maximum(-w, low), high)
    return np.minimum(np.maximum(w, low), high)


def truncate_bits(num_weight_bits: int, mode: SignMode) -> int:
    """How many LSBs ``truncate_weights`` drops: 8 - num_weight_bits (+1 when mixed)."""
    return MAX_NUM_WEIGHT_BITS - num_weight_bits + int(mode is SignMode.MIXED)


def truncate_weights(weights: np.ndarray, mode: SignMode, num_weight_bits: int) -> np.ndarray:
    """``truncate_weights``: ``(w >> k) << k`` (floor), on the magnitude when inhibitory."""
    k = truncate_bits(num_weight_bits, mode)
    w = wrap_int32(weights)
    if mode is SignMode.INHIBITORY:
        return -((-w >> k) << k)
    return (w >> k) << k


def effective_weights(weights: np.ndarray, n_entries: int, num_weight_bits: int) -> np.ndarray:
    """The int32 weights Lava's bit-accurate Dense/Sparse uses after its first step.

    ``weights`` are the stored mantissas (dense matrix or CSR data);
    ``n_entries`` the full matrix size (sparse: implicit zeros count for the
    sign mode). Steps that cannot change anything (clipping values already in
    range, dropping 0 bits) are skipped: large matrices are the slow part of setup.
    """
    w = wrap_int32(weights)  # the Var is int32 in the process model
    mode = sign_mode_of(w, n_entries)
    low, high = clip_bounds(mode)
    signed = (-high, -low) if mode is SignMode.INHIBITORY else (low, high)
    if w.size and (int(w.min()) < signed[0] or int(w.max()) > signed[1]):
        w = clip_weights(w, mode)
    if truncate_bits(num_weight_bits, mode) == 0:
        return w
    return truncate_weights(w, mode, num_weight_bits)


def apply_weight_exp(accumulated: np.ndarray, weight_exp: int) -> np.ndarray:
    """Dense ``a_buff``: the int64 sum shifted left by ``weight_exp`` (right when <= 0)."""
    acc = np.asarray(accumulated, dtype=np.int64)
    if weight_exp > 0:
        return np.left_shift(acc, weight_exp)
    return np.right_shift(acc, -weight_exp)


def effective_bias(bias_mant: np.ndarray, bias_exp: np.ndarray) -> np.ndarray:
    """``scale_bias``: int32 mantissa shifted left by the exponent (right when negative)."""
    mant = np.asarray(bias_mant).astype(np.int16).astype(np.int32)  # Var is int16
    exp = np.asarray(bias_exp).astype(np.int16)
    return np.where(exp >= 0, np.left_shift(mant, np.maximum(exp, 0)),
                    np.right_shift(mant, np.maximum(-exp, 0))).astype(np.int32)


def decay_toward_zero(state: np.ndarray, keep: int) -> np.ndarray:
    """``sign(x*keep) * (|x*keep| >> 12)`` in int64, as int32: the LIF decay.

    Adding 4095 to negative products before the arithmetic shift truncates
    toward zero, which equals Lava's sign-magnitude form without abs and sign.
    """
    product = state.astype(np.int64) * keep
    product += (product >> 63) & (DECAY_UNITY - 1)
    product >>= DECAY_SHIFT
    return product.astype(np.int32)


def wrap_current(current: np.ndarray) -> np.ndarray:
    """Lava's u overflow rule, in place: one subtraction or addition of 2**24.

    ``> 2**23`` loses 2**24, ``<= -2**23`` gains 2**24; Lava applies it once,
    not modulo, so a sum far outside 24 bits stays outside (mirrored here).
    """
    over = current > MAX_UV
    under = current <= -MAX_UV
    np.subtract(current, UV_WRAP, out=current, where=over)
    np.add(current, UV_WRAP, out=current, where=under)
    return current


def lif_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, *, u_keep: int, v_keep: int,
             bias: np.ndarray, vth_scaled: int) -> np.ndarray:
    """One ``PyLifModelBitAcc.run_spk`` on int32 ``u``, ``v`` (updated in place); the spikes.

    ``u_keep = 4096 - (du + 1)``, ``v_keep = 4096 - dv``, ``bias`` the
    effective bias, ``vth_scaled = vth << 6``.
    """
    decayed = decay_toward_zero(u, u_keep)
    decayed += np.left_shift(a_in, ACT_SHIFT)  # int32 arithmetic, wraps like Lava's
    u[...] = wrap_current(decayed)
    volt = decay_toward_zero(v, v_keep)
    volt += u
    volt += bias
    np.clip(volt, V_MIN, V_MAX, out=v)
    spikes = v > vth_scaled
    v[spikes] = 0
    return spikes
