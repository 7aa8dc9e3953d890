"""Lava's fixed-point arithmetic, one small function per rule, with the target's numbers.

Every hardware number (decay shift and offsets, the widths of u and v, the
threshold and activation shifts, weight clip and truncation widths, ...)
comes from the artifact's resolved target: :func:`arithmetic_of` reads them
once into a frozen :class:`Arithmetic`, and every function here takes that
record. Each rule mirrors a line of lava-nc 0.10.0 (named beside it); with
the packaged targets the record holds Lava's own values. The functions work
on whole arrays (any shape), so the engine applies them to a (batch,
neurons) block at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np

from neurocc.backends.loihi.spec import LoihiSpec, dotted
from neurocc.compiler.errors import SimulationError

# The engine, like Lava's process models, holds u, v, biases, weights and port values in
# int32 registers: a width or shift must stay below this (an implementation bound, not the chip's)
REGISTER_BITS = 32
INT64_SIGN_SHIFT = 63  # x >> 63 of an int64 is -1 for negative x, else 0
# Widths and shifts the engine applies to int32 registers (checked against REGISTER_BITS)
REGISTER_KEYS = ("u_bits", "v_bits", "bias_mant_bits", "weight_clip_bits", "decay_shift_bits",
                 "vth_shift_bits", "act_shift_bits", "bias_exp_min", "bias_exp_max",
                 "weight_exp_min", "weight_exp_max")


@dataclass(frozen=True)
class Arithmetic:
    """The fixed-point formats of one target: each field is the target key of that name.

    Lava's names (``lava/proc/lif/models.py``, ``AbstractPyLifModelFixed``):
    ``decay_shift_bits`` is ``decay_shift``, ``du_offset``/``dv_offset`` are
    ``ds_offset``/``dm_offset``, ``u_bits``/``v_bits`` are ``uv_bitwidth``
    (u wraps at ``u_bits``, v saturates at ``v_bits``), ``vth_shift_bits``
    and ``act_shift_bits`` are ``vth_shift`` and ``act_shift``; ``du_bits``,
    ``dv_bits``, ``vth_bits``, ``bias_mant_bits`` and the bias exponent range
    are the widths of the LIF's Vars; ``weight_clip_bits`` is the ``num_bits``
    of ``clip_weights`` and the ``max_num_weight_bits`` of ``truncate_weights``
    (``lava/utils/weightutils.py``), ``weight_bits`` the largest
    ``num_weight_bits``; the weight exponent and delay ranges bound the Dense
    parameters.
    """

    decay_shift_bits: int
    du_bits: int
    dv_bits: int
    du_offset: int
    dv_offset: int
    u_bits: int
    v_bits: int
    vth_bits: int
    vth_shift_bits: int
    act_shift_bits: int
    bias_mant_bits: int
    bias_exp_min: int
    bias_exp_max: int
    weight_bits: int
    weight_clip_bits: int
    weight_exp_min: int
    weight_exp_max: int
    delay_max_steps: int

    # -- derived once (cached on the instance), read by the per-step loop ----------------
    @cached_property
    def decay_unity(self) -> int:
        """``decay_unity``: a decay of 1 (4096 for 12 bits)."""
        return 1 << self.decay_shift_bits

    @cached_property
    def decay_round(self) -> int:
        """Added to negative products before the shift, so it truncates toward zero."""
        return self.decay_unity - 1

    @cached_property
    def du_max(self) -> int:
        return (1 << self.du_bits) - 1

    @cached_property
    def dv_max(self) -> int:
        return (1 << self.dv_bits) - 1

    @cached_property
    def u_max(self) -> int:
        """``max_uv_val`` for u: above it u wraps (2**23 for 24 bits)."""
        return 1 << (self.u_bits - 1)

    @cached_property
    def u_wrap(self) -> int:
        """What one wrap adds or subtracts: 2**u_bits."""
        return 1 << self.u_bits

    @cached_property
    def v_max(self) -> int:
        """``pos_voltage_limit``: v saturates here (2**23 - 1 for 24 bits)."""
        return (1 << (self.v_bits - 1)) - 1

    @cached_property
    def v_min(self) -> int:
        """``neg_voltage_limit``: -(2**23) + 1 for 24 bits."""
        return -self.v_max

    @cached_property
    def vth_max(self) -> int:
        return (1 << self.vth_bits) - 1

    @cached_property
    def bias_mant_max(self) -> int:
        return (1 << (self.bias_mant_bits - 1)) - 1

    @cached_property
    def bias_mant_min(self) -> int:
        return -(1 << (self.bias_mant_bits - 1))


def _check_registers(spec: LoihiSpec, arith: Arithmetic) -> None:
    for key in REGISTER_KEYS:
        value = getattr(arith, key)
        if abs(value) >= REGISTER_BITS:
            raise SimulationError(f"target '{spec.name}' key '{dotted(key)}'",
                                  f"is {value}; the exact engine holds state, biases and "
                                  f"weights in int32 registers (as Lava does) and needs widths "
                                  f"and shifts below {REGISTER_BITS}.",
                                  "Use a smaller value in the target file and compile again.")


def arithmetic_of(spec: LoihiSpec) -> Arithmetic:
    """The record of ``spec``'s numbers, or a SimulationError naming a key the engine cannot
    represent."""
    arith = Arithmetic(**{f.name: int(getattr(spec, f.name))
                          for f in dataclasses.fields(Arithmetic)})
    _check_registers(spec, arith)
    return arith


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


def clip_bounds(mode: SignMode, arith: Arithmetic) -> tuple[int, int]:
    """The range ``clip_weights(..., num_bits=weight_clip_bits)`` clips to (on the magnitude
    if inhibitory)."""
    full = 1 << arith.weight_clip_bits
    return (-full if mode is SignMode.MIXED else 0), full - 1


def clip_weights(weights: np.ndarray, mode: SignMode, arith: Arithmetic) -> np.ndarray:
    """``clip_weights``: int32, then clip to the mode's range.

    With 8 clip bits: mixed [-256, 255]; excitatory [0, 255]; inhibitory:
    negate, [0, 255], negate.
    """
    w = wrap_int32(weights)
    low, high = clip_bounds(mode, arith)
    if mode is SignMode.INHIBITORY:
        return -np.minimum(np.maximum(-w, low), high)
    return np.minimum(np.maximum(w, low), high)


def truncate_bits(num_weight_bits: int, mode: SignMode, arith: Arithmetic) -> int:
    """How many LSBs ``truncate_weights`` drops: clip bits - num_weight_bits (+1 when mixed)."""
    return arith.weight_clip_bits - num_weight_bits + int(mode is SignMode.MIXED)


def truncate_weights(weights: np.ndarray, mode: SignMode, num_weight_bits: int,
                     arith: Arithmetic) -> np.ndarray:
    """``truncate_weights``: ``(w >> k) << k`` (floor), on the magnitude when inhibitory."""
    k = truncate_bits(num_weight_bits, mode, arith)
    w = wrap_int32(weights)
    if mode is SignMode.INHIBITORY:
        return -((-w >> k) << k)
    return (w >> k) << k


def effective_weights(weights: np.ndarray, n_entries: int, num_weight_bits: int,
                      arith: Arithmetic) -> np.ndarray:
    """The int32 weights Lava's bit-accurate Dense/Sparse uses after its first step.

    ``weights`` are the stored mantissas (dense matrix or CSR data);
    ``n_entries`` the full matrix size (sparse: implicit zeros count for the
    sign mode). Steps that cannot change anything (clipping values already in
    range, dropping 0 bits) are skipped: large matrices are the slow part of setup.
    """
    w = wrap_int32(weights)  # the Var is int32 in the process model
    mode = sign_mode_of(w, n_entries)
    low, high = clip_bounds(mode, arith)
    signed = (-high, -low) if mode is SignMode.INHIBITORY else (low, high)
    if w.size and (int(w.min()) < signed[0] or int(w.max()) > signed[1]):
        w = clip_weights(w, mode, arith)
    if truncate_bits(num_weight_bits, mode, arith) == 0:
        return w
    return truncate_weights(w, mode, num_weight_bits, arith)


def apply_weight_exp(accumulated: np.ndarray, weight_exp: int) -> np.ndarray:
    """Dense ``a_buff``: the int64 sum shifted left by ``weight_exp`` (right when <= 0)."""
    acc = np.asarray(accumulated, dtype=np.int64)
    if weight_exp > 0:
        return np.left_shift(acc, weight_exp)
    return np.right_shift(acc, -weight_exp)


def effective_bias(bias_mant: np.ndarray, bias_exp: np.ndarray) -> np.ndarray:
    """``scale_bias``: int32 mantissa shifted left by the exponent (right when negative).

    The mantissas are range-checked against the target (``read_network``), so
    Lava's int16 Var would hold them unchanged: the int32 copy is exact.
    """
    mant = np.asarray(bias_mant).astype(np.int32)
    exp = np.asarray(bias_exp).astype(np.int32)
    return np.where(exp >= 0, np.left_shift(mant, np.maximum(exp, 0)),
                    np.right_shift(mant, np.maximum(-exp, 0))).astype(np.int32)


def decay_toward_zero(state: np.ndarray, keep: int, arith: Arithmetic) -> np.ndarray:
    """``sign(x*keep) * (|x*keep| >> decay_shift)`` in int64, as int32: the LIF decay.

    Adding ``2**decay_shift - 1`` to negative products before the arithmetic
    shift truncates toward zero, which equals Lava's sign-magnitude form
    without abs and sign.
    """
    product = state.astype(np.int64) * keep
    product += (product >> INT64_SIGN_SHIFT) & arith.decay_round
    product >>= arith.decay_shift_bits
    return product.astype(np.int32)


def wrap_current(current: np.ndarray, arith: Arithmetic) -> np.ndarray:
    """Lava's u overflow rule, in place: one subtraction or addition of ``2**u_bits``.

    ``> 2**(u_bits-1)`` loses ``2**u_bits``, ``<= -2**(u_bits-1)`` gains it;
    Lava applies it once, not modulo, so a sum far outside the width stays
    outside (mirrored here).
    """
    over = current > arith.u_max
    under = current <= -arith.u_max
    # masked ufuncs cost more than the any() that skips them when nothing wraps (the usual case)
    if over.any():
        np.subtract(current, arith.u_wrap, out=current, where=over)
    if under.any():
        np.add(current, arith.u_wrap, out=current, where=under)
    return current


def lif_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray, *, u_keep: int, v_keep: int,
             bias: np.ndarray, vth_scaled: int, arith: Arithmetic) -> np.ndarray:
    """One ``PyLifModelBitAcc.run_spk`` on int32 ``u``, ``v`` (updated in place); the spikes.

    ``u_keep = decay_unity - (du + du_offset)``, ``v_keep = decay_unity - (dv
    + dv_offset)``, ``bias`` the effective bias, ``vth_scaled = vth <<
    vth_shift_bits`` (all computed once per population by the engine).
    """
    decayed = decay_toward_zero(u, u_keep, arith)
    decayed += np.left_shift(a_in, arith.act_shift_bits)  # int32 arithmetic, wraps like Lava's
    u[...] = wrap_current(decayed, arith)
    volt = decay_toward_zero(v, v_keep, arith)
    volt += u
    volt += bias
    np.clip(volt, arith.v_min, arith.v_max, out=v)
    spikes = v > vth_scaled
    np.putmask(v, spikes, 0)  # v[spikes] = 0, without the slower boolean-index assignment
    return spikes
