"""The fixed-point arithmetic a SpiNNaker core runs once at load time, in Python integers.

sPyNNaker's host writes the neuron parameters as s16.15 words in milliseconds (round-half-even
of the decimal value, ``S1615.encode_as_int``); the ARM core then derives its constants from
those words (``shared/reference/spinnaker.md`` §2.4, §2.6), and this module redoes that integer
for integer:

- ``kdivk(a, b) = (a << 15) // b`` (unsigned, truncating), ``kdivui(a, n) = a // n``;
- ``exp_TC = expk(-kdivk(ts, tau_m))`` (membrane, s16.15);
- ``decay = expulr(-kdivk(ts, tau))``, ``init = (kdivk(tau, ts) * (ONE_ULR - decay)) >> 15``
  (exponential synapse, u0.32; ``ONE_ULR`` is ``1.0ulr``, which u0.32 cannot hold: the
  compiled constant is taken as ``2**32 - 1``, an assumption the reference flags);
- ``T_refract = ceil(kdivk(T_refract_ms, ts))`` in ticks (``lif_ceil_accum``).

``expk`` / ``expulr`` are spinn_common's table exponential (``stdfix-exp.c``), reimplemented
from its description: for ``x = n / 2**15``, ``z = ceil(x)`` and ``f = (z - x) * 2**15``,
``e**x * 2**32 ~= E[z] * (1 - M[f >> 11]) * (1 - S(f & 0x7FF))`` where ``E[z] =
round(e**z * 2**32)`` for ``z`` in [-13, 12], ``M[i] = round((1 - e**(-i/16)) * 2**32)`` and
``S`` a fitted quadratic for ``1 - e**(-g/2**15)``, ``g < 2**11``; each product is ``scale64``
(a 64 x 32-bit product whose low half is rounded up when it is at least ``2**31 - 1``).
``expk`` keeps ``>> 17`` of the result (s16.15, truncated), ``expulr`` its low 32 bits.
Outside ``[EXP_MIN_BITS, EXP_MAX_BITS]`` both saturate (to 0 below, ``2**31 - 1`` above).
These constants define the algorithm (not the hardware's limits), so they live here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np

FRACTION_BITS = 15  # s16.15: the REAL of sPyNNaker's maths-util.h
WORD_BITS = 32  # accum and unsigned long fract words
WORD_MASK = (1 << WORD_BITS) - 1
INT32_MAX = (1 << 31) - 1
ONE_ULR = WORD_MASK  # 1.0ulr, not representable in u0.32: the largest word
EXP_MIN_BITS = -340695  # below: expk/expulr return 0 (stdfix-exp.c saturation bounds)
EXP_MAX_BITS = 363408  # above: they return INT32_MAX
EXP_Z_MIN = -13  # the integer table covers e**z for z in [-13, 12]
EXP_Z_COUNT = 26
MID_COUNT = 16  # e**(-i/16), i < 16: the top 4 of the 15 fraction bits
MID_SHIFT = 11
LOW_MASK = (1 << MID_SHIFT) - 1
MS_PER_S = 1000  # sPyNNaker's parameters are in ms
TABLE_DIGITS = 50  # decimal digits for regenerating the tables exactly
SERIES = (5294, 4293434720, 2081624032)  # stdfix-exp.c __exp_series: c0 + y (c1 - c2 y)


def _round_exp(x: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = TABLE_DIGITS
        return int((x.exp() * (1 << WORD_BITS)).to_integral_value(ROUND_HALF_EVEN))


# e**z * 2**32 (uint64) and (1 - e**(-i/16)) * 2**32, regenerated exactly (50 digits)
EXP_HI = tuple(_round_exp(Decimal(z)) for z in range(EXP_Z_MIN, EXP_Z_MIN + EXP_Z_COUNT))
EXPM1_MID = tuple((1 << WORD_BITS) - _round_exp(Decimal(-i) / MID_COUNT) for i in range(MID_COUNT))


def encode_s1615(value: float | Decimal) -> int:
    """The host's encoding: ``round-half-even(Decimal(str(value)) * 2**15)``."""
    exact = value if isinstance(value, Decimal) else Decimal(str(float(value)))
    return int((exact * (1 << FRACTION_BITS)).to_integral_value(ROUND_HALF_EVEN))


def to_ms(seconds: float) -> Decimal:
    """A time in seconds as the decimal number of milliseconds the host writes (exact)."""
    return Decimal(str(float(seconds))) * MS_PER_S


def kdivk(a: int, b: int) -> int:
    """s16.15 division ``a / b``: ``(a << 15) // b`` on the unsigned words, truncating."""
    return ((a & WORD_MASK) << FRACTION_BITS) // (b & WORD_MASK)


def kdivui(a: int, n: int) -> int:
    """An s16.15 word divided by an unsigned integer, truncating."""
    return (a & WORD_MASK) // n


def _round64(x: int) -> int:
    """The high word of a 64-bit value, plus 1 when its low word is at least INT32_MAX."""
    return (x >> WORD_BITS) + (1 if (x & WORD_MASK) >= INT32_MAX else 0)


def _scale64(x: int, y: int) -> int:
    """``x * y / 2**32`` with ``y`` a u0.32: low word rounded, high word exact."""
    return _round64((x & WORD_MASK) * y) + (x >> WORD_BITS) * y


def _coef_mult(c: int, x: int) -> int:
    return ((c * x) >> WORD_BITS) & WORD_MASK


def _series(y: int) -> int:
    """``1 - e**(-g / 2**15)`` in u0.32 for ``y = g << 17``, ``g < 2**11``."""
    tmp = (SERIES[1] - _coef_mult(SERIES[2], y)) & WORD_MASK
    return (_coef_mult(tmp, y) + SERIES[0]) & WORD_MASK


def expi64(n: int) -> int:
    """``e**(n / 2**15) * 2**32`` as the chip's uint64 (``n`` within the saturation bounds)."""
    z = n >> FRACTION_BITS  # arithmetic shift: floor
    f = n - (z << FRACTION_BITS)
    if f == 0:
        return EXP_HI[z - EXP_Z_MIN]
    z, f = z + 1, (1 << FRACTION_BITS) - f
    value = EXP_HI[z - EXP_Z_MIN]
    value -= _scale64(value, EXPM1_MID[f >> MID_SHIFT])
    value -= _scale64(value, _series((f & LOW_MASK) << (WORD_BITS - FRACTION_BITS)))
    return value


def expk(n: int) -> int:
    """spinn_common ``expk``: e**x for the s16.15 word ``n``, as an s16.15 word."""
    if n > EXP_MAX_BITS:
        return INT32_MAX
    if n < EXP_MIN_BITS:
        return 0
    return expi64(n) >> (WORD_BITS - FRACTION_BITS)


def expulr(n: int) -> int:
    """spinn_common ``expulr``: e**x for the s16.15 word ``n``, as a u0.32 word."""
    if n > EXP_MAX_BITS:
        return INT32_MAX
    if n < EXP_MIN_BITS:
        return 0
    return expi64(n) & WORD_MASK


def ceil_accum(bits: int) -> int:
    """sPyNNaker's ``lif_ceil_accum``: the ceiling of an s16.15 word, as an integer."""
    whole, fraction = bits >> FRACTION_BITS, bits & ((1 << FRACTION_BITS) - 1)
    return whole + 1 if fraction > 0 else whole


def _ts(dt_s: float) -> int:
    """``ts = kdivui(time_step, n_steps_per_timestep)``, one sub-step per tick."""
    return kdivui(encode_s1615(to_ms(dt_s)), 1)


def membrane_decay(dt_s: float, tau_s: float) -> int:
    """``exp_TC`` of the LIF core: ``expk(-kdivk(ts, tau_m))`` from the host's words."""
    return expk(-kdivk(_ts(dt_s), encode_s1615(to_ms(tau_s))))


def synapse_constants(dt_s: float, tau_s: float) -> tuple[int, int]:
    """``(decay, init)`` of an exponential synapse in u0.32 (``exp_synapse_utils.h``)."""
    ts, tau = _ts(dt_s), encode_s1615(to_ms(tau_s))
    decay = expulr(-kdivk(ts, tau))
    init = ((kdivk(tau, ts) * ((ONE_ULR - decay) & WORD_MASK)) >> FRACTION_BITS) & WORD_MASK
    return decay, init


def refractory_ticks(dt_s: float, tau_refrac_s: float) -> int:
    """``T_refract = lif_ceil_accum(kdivk(T_refract_ms, ts))``: frozen ticks after a spike."""
    return ceil_accum(kdivk(encode_s1615(to_ms(tau_refrac_s)), _ts(dt_s)))


def per_neuron(function: Callable[..., int], *columns: np.ndarray) -> np.ndarray:
    """Apply a scalar integer function per neuron, once per distinct parameter tuple."""
    stacked = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=-1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    values = [function(*(float(v) for v in row)) for row in unique]
    return np.asarray(values, dtype=np.int64)[np.asarray(inverse).reshape(-1)]
