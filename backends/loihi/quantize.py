"""Quantization of the float graph to Lava's fixed-point LIF and Dense formats.

Lava's bit-accurate LIF (``lava/proc/lif/models.py``), per step::

    u = sign(u*(4096-(du+1))) * (|u*(4096-(du+1))| >> 12) + (a_in << 6)   # 24-bit wrap
    v = sign(v*(4096-dv))     * (|v*(4096-dv)|     >> 12) + u + (bias_mant << bias_exp)
    v = clip(v, -2^23+1, 2^23-1); spike where v > vth << 6; then v = 0

and its Dense: ``a_in = (sum of mantissas of the spiking sources) << weight_exp`` (a right
shift, flooring the sum, for a negative exponent), delivered one step later.

Every number below (4096, 6, 24, 17, 13, 8 ...) comes from the target file.

**Float model as a linear update.** ``compiler.passes.quantize.euler_coefficients``
writes each model's Euler step as ``c' = (1-a_c) c + g (W s)``, ``v' = (1-a_v) v + c'
+ b`` (``a_c = 1`` for lif/li/if/integrator: ``c`` is this step's input; ``a_c =
dt/tau_syn`` for cubalif; ``g = dt/tau*r`` for lif, ``dt*r`` for if, ``dt/tau_mem*r*
dt/tau_syn*w_in`` for cubalif; ``b`` folds ``v_leak`` and ``bias``: ``b = dt/tau*(v_leak
+ r*bias)`` — exact for Euler). With ``c = u / S`` and ``v = v_int / S`` (``S``: the
neuron's voltage scale, integer units per model unit):

- ``dv = round(4096 * mean(a_v))``; ``du = round(4096 * mean(a_c)) - 1`` (so lif gets
  ``du = 4095``: u carries only this step's input), both clipped to 0..4095. One value per
  population: where time constants differ across it, the mean is used and the largest
  relative decay error is recorded.
- threshold: one ``vth`` per population; each neuron gets its own scale ``S_i = (vth << 6)
  / v_threshold_i``, so thresholds are exact and per-neuron thresholds fold into the scale.
  ``vth`` is the largest integer such that, for every neuron, ``vth <= 2^17-1``, the
  worst-case current ``S_i * max(sum of positive, |sum of negative|) incoming weights * g_i /
  a_c`` stays below ``2^(24-1-U_HEADROOM_BITS)`` (so u never wraps, even when every source
  spikes at once; with ``calibration_spikes`` the observed maximum times
  ``CALIBRATION_MARGIN`` replaces the worst case) and ``S_i * |b_i|`` fits the bias range
  ``(2^12-1) << 7`` and the largest incoming weight fits the largest mantissa at the
  largest ``weight_exp``. Non-spiking populations (li, integrator) get ``vth = 2^17-1``
  (they spike only if ``v`` saturates) and one scale ``S`` that keeps the steady-state
  worst-case ``|v| = (|b| + u_max) / max(a_v, 1/INTEGRATOR_RANGE_STEPS)`` below ``vth << 6``.
- bias: ``b_int = S_i * b_i`` as ``bias_mant << bias_exp`` with the smallest exponent in
  0..7 that fits the mantissa in 13 bits (saturated where none does; counted).
- weights: per projection the targets ``x = W * g_post * S_post / 2^6`` (per post row)
  become ``mantissa << weight_exp``: the sign mode is Lava's (``determine_sign_mode``), the
  mantissa grid is Lava's ``truncate_weights`` step ``2^(8 - num_weight_bits + mixed)``
  within ``clip_weights``' 8-bit range, ``weight_exp`` is the smallest exponent in the
  target's range for which the largest weight fits the grid, mantissas are rounded to the
  grid (half to even) and passed once more through a mirror of Lava's clip and truncate
  under the sign mode of the mantissas themselves, so Lava stores exactly what is emitted.
  With ``weight_scaling="calibrated"`` the exponent is instead the one, from the max-fit
  exponent down to 4 below it, with the smallest squared error ``sum_ij a_j (m_ij 2^e -
  x_ij)^2`` weighted by each source's mean spike count ``a_j`` on ``calibration_spikes``
  (all ones without them): a finer grid for the many small weights at the cost of
  saturating the few largest (counted in ``weights_saturated``). Per-channel scales are
  not possible here: one ``weight_exp`` per projection, one ``vth`` per population.

**Reset.** Lava resets ``v`` to 0: ``to_value`` with ``v_reset == 0`` is exact. Otherwise
MappingError, unless ``reset_policy="approximate"``: ``to_value`` with ``v_reset != 0``
shifts ``v`` by ``v_reset`` (threshold ``v_threshold - v_reset``, bias ``b - a_v*v_reset``;
exact after the first spike, Lava starts at ``v = 0``), ``subtract`` resets to 0 (the
overshoot above threshold is lost at each spike). ``threshold`` and ``output``
populations have no Lava LIF form: MappingError.

**Recorded** (pass ``loihi.quantize``), per population: du, dv, vth, the scale range, the
relative decay errors, bias relative error and saturations, notes; per projection: sign
mode, weight_exp, the relative rounding error ``||m 2^e - x|| / ||x||``, nonzero weights
lost to zero, saturated weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.backends.loihi.spec import LoihiSpec
from neurocc.compiler.errors import MappingError, SimulationError
from neurocc.compiler.graph import Graph, Population, Projection, Weight
from neurocc.compiler.neurons import DEFAULT_RECEPTOR, RESET_SUBTRACT, RESET_TO_VALUE
from neurocc.compiler.passes.quantize import (
    EULER_RULES,
    EulerCoefficients,
    euler_coefficients,
    relative_error,
)
from neurocc.sim.reference import run_graph
from neurocc.sim.reference.engine import synaptic_trace
from neurocc.sim.result import SimResult

U_HEADROOM_BITS = 1  # worst-case |u| stays a factor 2 below the 24-bit wrap point
INTEGRATOR_RANGE_STEPS = 1024  # non-leaky v is sized for this many steps of worst-case input
CALIBRATION_MARGIN = 2.0  # observed maxima are doubled before sizing the scale
CALIBRATION_EXP_STEPS = 4  # calibrated weight scaling tries the max-fit exponent and 4 below
WEIGHT_SCALINGS = ("max", "calibrated")
RESET_POLICIES = ("error", "approximate")
SIGN_MODES = ("excitatory", "inhibitory", "mixed")
LIF_MODELS = ("lif", "cubalif", "if", "li", "integrator")


@dataclass(frozen=True)
class PopulationQuant:
    """The Lava LIF parameters of one population and what rounding cost."""

    name: str
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    v_scale: np.ndarray  # integer v units per model voltage unit, per neuron
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectionQuant:
    """The Lava Dense parameters of one projection (``mantissa`` dense or CSR, int64)."""

    name: str
    mantissa: Weight
    weight_exp: int
    num_weight_bits: int
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuantizedNetwork:
    populations: Mapping[str, PopulationQuant]
    projections: Mapping[str, ProjectionQuant]


# -- Lava's number formats -------------------------------------------------------------
def decay_to_fixed(fraction: float, offset: int, bits: int, spec: LoihiSpec) -> int:
    """``round(4096 * fraction) - offset`` clipped to the unsigned ``bits`` range."""
    value = int(np.round(spec.decay_unity * fraction)) - offset
    return int(np.clip(value, 0, (1 << bits) - 1))


def lava_sign_mode(values: np.ndarray) -> str:
    """Lava's ``determine_sign_mode`` (all-zero weights count as excitatory)."""
    values = np.asarray(values)
    if values.size == 0 or values.min() >= 0:
        return "excitatory"
    return "inhibitory" if values.max() <= 0 else "mixed"


def weight_grid(sign_mode: str, num_weight_bits: int, spec: LoihiSpec) -> tuple[int, int, int]:
    """(step, lowest, highest) mantissa Lava keeps for ``sign_mode`` after clip and truncate."""
    mixed = int(sign_mode == "mixed")
    step = 1 << (spec.weight_clip_bits - num_weight_bits + mixed)
    full = 1 << spec.weight_clip_bits
    high = 0 if sign_mode == "inhibitory" else (full - 1) // step * step
    low = {"mixed": -full, "excitatory": 0}.get(sign_mode, -((full - 1) // step * step))
    return step, low, high


def lava_stored_mantissas(mantissa: np.ndarray, num_weight_bits: int,
                          spec: LoihiSpec) -> np.ndarray:
    """What Lava's Dense keeps of ``mantissa`` (mirrors clip_weights, truncate_weights)."""
    return _store(mantissa, lava_sign_mode(mantissa), num_weight_bits, spec)


def _store(mantissa: np.ndarray, mode: str, num_weight_bits: int, spec: LoihiSpec
           ) -> np.ndarray:
    """:func:`lava_stored_mantissas` given the sign mode of the whole weight matrix (Lava
    decides it once per matrix; ``mantissa`` may be one block of it)."""
    full = 1 << spec.weight_clip_bits
    sign = -1 if mode == "inhibitory" else 1
    magnitude = np.asarray(mantissa, dtype=np.int64) * sign
    magnitude = np.clip(magnitude, -full if mode == "mixed" else 0, full - 1)
    shift = spec.weight_clip_bits - num_weight_bits + int(mode == "mixed")
    return ((magnitude >> shift) << shift) * sign


def choose_weight_exp(x: np.ndarray, sign_mode: str, num_weight_bits: int,
                      spec: LoihiSpec) -> int:
    """Smallest exponent in the target's range with every ``x / 2^e`` inside the grid."""
    return _fit_exp(float(x.min(initial=0)), float(x.max(initial=0)), sign_mode,
                    num_weight_bits, spec)


def _fit_exp(x_min: float, x_max: float, sign_mode: str, num_weight_bits: int,
             spec: LoihiSpec) -> int:
    """:func:`choose_weight_exp` from the extremes of ``x`` (``x_min <= 0 <= x_max``)."""
    _, low, high = weight_grid(sign_mode, num_weight_bits, spec)
    need = max(x_max / high if high else 0.0, -x_min / -low if low else 0.0)
    if need == 0:
        return int(np.clip(0, spec.weight_exp_min, spec.weight_exp_max))
    exp = int(np.ceil(np.log2(need)))
    while exp > spec.weight_exp_min and need <= 2.0 ** (exp - 1):
        exp -= 1
    while need > 2.0 ** exp and exp < spec.weight_exp_max:
        exp += 1
    return int(np.clip(exp, spec.weight_exp_min, spec.weight_exp_max))


def _on_grid(x: np.ndarray, exp: int, mode: str, spec: LoihiSpec,
             stored_mode: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rounded, stored) mantissas of ``x`` at exponent ``exp``: rounded to the grid, then
    clipped and truncated as Lava stores them (under ``stored_mode``, the sign mode of the
    whole clipped matrix when ``x`` is one block of it; by default that of ``x``)."""
    step, low, high = weight_grid(mode, spec.weight_bits, spec)
    rounded = np.round(x / 2.0 ** exp / step) * step
    mantissa = np.clip(rounded, low, high).astype(np.int64)
    if stored_mode is None:
        stored_mode = lava_sign_mode(mantissa)
    return rounded, _store(mantissa, stored_mode, spec.weight_bits, spec)


# -- weights in blocks: full-size float temporaries cost ~8 bytes per synapse each ------------
# A projection's weight targets x (and per-entry activity) come in blocks of about this many
# entries, so the ~10 passes of quantization run on cache-sized temporaries and memory stays
# the weights plus the mantissas (issue 19: 100 M synapses).
BLOCK_ENTRIES = 1 << 18
Blocks = Callable[[], Iterator[tuple[int, np.ndarray, np.ndarray | None]]]


def flat_blocks(x: np.ndarray, activity: np.ndarray | None = None) -> Blocks:
    """``x`` (and an activity per entry) flattened, in blocks: (first index, x, activity)."""
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    act = None if activity is None else np.asarray(activity, dtype=np.float64).reshape(-1)

    def blocks() -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        for start in range(0, flat.size, BLOCK_ENTRIES):
            end = start + BLOCK_ENTRIES
            yield start, flat[start:end], None if act is None else act[start:end]
    return blocks


def row_blocks(indptr: np.ndarray, entries: int = BLOCK_ENTRIES) -> list[tuple[int, int]]:
    """Consecutive row ranges of a CSR matrix holding about ``entries`` synapses each."""
    if indptr.size <= 1:
        return []
    cuts = np.searchsorted(indptr, np.arange(entries, int(indptr[-1]), entries), side="left")
    edges = np.unique(np.concatenate([[0], cuts, [indptr.size - 1]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _sparse_blocks(weight: sp.csr_array, factor: np.ndarray,
                   activity: np.ndarray | None) -> Blocks:
    """The CSR weights times their row's factor, in row blocks (CSR entry order)."""
    indptr = weight.indptr

    def blocks() -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        for r0, r1 in row_blocks(indptr):
            lo, hi = int(indptr[r0]), int(indptr[r1])
            rows = np.repeat(factor[r0:r1], np.diff(indptr[r0:r1 + 1]))
            yield lo, weight.data[lo:hi] * rows, \
                None if activity is None else activity[weight.indices[lo:hi]]
    return blocks


def _dense_blocks(weight: np.ndarray, factor: np.ndarray, activity: np.ndarray | None
                  ) -> Blocks:
    """The dense weights times their row's factor, in row blocks (C order)."""
    n_post, n_pre = weight.shape
    step = max(1, BLOCK_ENTRIES // max(n_pre, 1))

    def blocks() -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        for r0 in range(0, n_post, step):
            x = (weight[r0:r0 + step] * factor[r0:r0 + step, None]).reshape(-1)
            yield r0 * n_pre, x, None if activity is None else \
                np.broadcast_to(activity, (x.size // max(n_pre, 1), n_pre)).reshape(-1)
    return blocks


@dataclass
class _Extent:
    """One pass over the blocks: extremes, nonzero count and squared norm of x."""

    low: float = np.inf
    high: float = -np.inf
    nonzero: int = 0
    square_sum: float = 0.0
    size: int = 0

    @classmethod
    def of(cls, blocks: Blocks) -> _Extent:
        found = cls()
        for _, x, _ in blocks():
            if x.size:
                found.low, found.high = min(found.low, float(x.min())), \
                    max(found.high, float(x.max()))
                found.nonzero += int(np.count_nonzero(x))
                found.square_sum += float(np.dot(x, x))
                found.size += x.size
        return found

    def sign_mode(self) -> str:
        """:func:`lava_sign_mode` of the nonzero entries (zeros do not move min >= 0)."""
        if self.nonzero == 0 or self.low >= 0:
            return "excitatory"
        return "inhibitory" if self.high <= 0 else "mixed"

    def stored_mode(self, exp: int, mode: str, spec: LoihiSpec) -> str:
        """The sign mode Lava sees on the clipped mantissas: rounding and clipping are
        monotone, so their extremes are those of x's extremes."""
        if self.size == 0:
            return "excitatory"
        ends = np.array([self.low, self.high])
        step, low, high = weight_grid(mode, spec.weight_bits, spec)
        return lava_sign_mode(np.clip(np.round(ends / 2.0 ** exp / step) * step, low, high))


def calibrated_weight_exp(x: np.ndarray, activity: np.ndarray, mode: str, spec: LoihiSpec
                          ) -> int:
    """The exponent, from the max-fit one down by up to ``CALIBRATION_EXP_STEPS``, with the
    smallest activity-weighted squared error ``sum_ij a_ij (m_ij 2^e - x_ij)^2``: finer steps
    for the many small weights against clipping the few largest (ties: the larger exponent)."""
    blocks = flat_blocks(x, activity)
    return _calibrated_exp(blocks, _Extent.of(blocks), mode, spec)


def _calibrated_exp(blocks: Blocks, extent: _Extent, mode: str, spec: LoihiSpec) -> int:
    top = _fit_exp(min(extent.low, 0.0), max(extent.high, 0.0), mode, spec.weight_bits, spec)
    exps = list(range(top, max(top - CALIBRATION_EXP_STEPS, spec.weight_exp_min) - 1, -1))
    modes = [extent.stored_mode(exp, mode, spec) for exp in exps]
    errors = np.zeros(len(exps))
    for _, x, activity in blocks():
        for k, exp in enumerate(exps):
            stored = _on_grid(x, exp, mode, spec, modes[k])[1]
            errors[k] += float(np.sum(activity * (stored * 2.0 ** exp - x) ** 2))
    best, best_error = top, np.inf
    for exp, error in zip(exps, errors, strict=True):
        if error < best_error:
            best, best_error = exp, error
    return best


def quantize_values(x: np.ndarray, spec: LoihiSpec, activity: np.ndarray | None = None
                    ) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Mantissas and exponent for weight targets ``x`` (in units of ``a_in``), and the costs.

    Without ``activity`` the exponent is the smallest that fits the largest weight
    (max-scaling); with ``activity`` (a weight per entry of ``x``, e.g. its source's mean
    spike count) it is :func:`calibrated_weight_exp`.
    """
    x = np.asarray(x, dtype=np.float64)
    stored, exp, stats = quantize_blocks(flat_blocks(x, activity), x.size, spec,
                                         calibrated=activity is not None)
    return stored.reshape(x.shape), exp, stats


def quantize_blocks(blocks: Blocks, size: int, spec: LoihiSpec, calibrated: bool
                    ) -> tuple[np.ndarray, int, dict[str, Any]]:
    """:func:`quantize_values` over ``size`` entries given in blocks (two or three passes,
    each on block-sized temporaries); the mantissas come back flat, int64."""
    extent = _Extent.of(blocks)
    mode = extent.sign_mode()
    bits = spec.weight_bits
    exp = (_calibrated_exp(blocks, extent, mode, spec) if calibrated else
           _fit_exp(min(extent.low, 0.0), max(extent.high, 0.0), mode, bits, spec))
    stored_mode = extent.stored_mode(exp, mode, spec)
    out = np.empty(size, np.int64)
    error, lost, saturated, low, high = 0.0, 0, 0, 0, 0
    for start, x, _ in blocks():
        rounded, stored = _on_grid(x, exp, mode, spec, stored_mode)
        out[start:start + x.size] = stored
        diff = stored * 2.0 ** exp - x
        error += float(np.dot(diff, diff))
        lost += int(np.count_nonzero((x != 0) & (stored == 0)))
        saturated += int(np.count_nonzero(rounded != stored))
        if stored.size:
            low, high = min(low, int(stored.min())), max(high, int(stored.max()))
    norm = float(np.sqrt(extent.square_sum))
    rel_error = (0.0 if error == 0 else float("inf")) if norm == 0 else \
        float(np.sqrt(error)) / norm
    stats = {"sign_mode": lava_sign_mode(np.array([low, high])), "weight_exp": exp,
             "num_weight_bits": bits, "weight_scaling": "calibrated" if calibrated else "max",
             "nonzero": extent.nonzero, "weight_rel_error": rel_error,
             "weights_lost_to_zero": lost, "weights_saturated": saturated}
    if exp < 0:
        stats["note"] = (f"weight_exp {exp} < 0: Lava floors the summed input by 2^{-exp}")
    return out, exp, stats


def bias_to_fixed(bias: np.ndarray, spec: LoihiSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-neuron (mantissa, exponent) with the smallest exponent that fits; saturations."""
    exp = np.full(bias.shape, spec.bias_exp_max, dtype=np.int64)
    for e in range(spec.bias_exp_max, spec.bias_exp_min - 1, -1):
        mant = np.round(bias / 2.0 ** e)
        fits = (mant >= spec.bias_mant_min) & (mant <= spec.bias_mant_max)
        exp = np.where(fits, e, exp)
    raw = np.round(bias / 2.0 ** exp)
    mant = np.clip(raw, spec.bias_mant_min, spec.bias_mant_max).astype(np.int64)
    return mant, exp, int(np.count_nonzero(raw != mant))


# -- per-population choices ------------------------------------------------------------
def _where(pop: Population) -> str:
    return f"population '{pop.name}' ({pop.model})"


def _reset_shift(pop: Population, policy: str, notes: list[str]) -> np.ndarray:
    """The voltage offset that maps the model's reset to Lava's reset to 0."""
    zero = np.zeros(pop.size)
    if not pop.neuron_model.spiking:
        notes.append("non-spiking: vth at its maximum, spikes only if v saturates")
        return zero
    v_reset = pop.params["v_reset"]
    if pop.reset == RESET_TO_VALUE and not np.any(v_reset != 0):
        return zero
    what = (f"reset '{pop.reset}'" if pop.reset == RESET_SUBTRACT
            else f"reset to v_reset = {float(np.max(np.abs(v_reset))):g} (not 0)")
    if policy != "approximate":
        raise MappingError(_where(pop), f"has {what}; Lava's LIF resets v to 0.",
                           "Pass reset_policy='approximate' (--reset-policy approximate) to "
                           "accept the difference, or train with reset to 0.")
    if pop.reset == RESET_SUBTRACT:
        notes.append("approximate reset: 'subtract' mapped to reset to 0 (overshoot lost)")
        return zero
    notes.append("approximate reset: v shifted by v_reset (initial v differs by v_reset)")
    return v_reset


def _decays(c: EulerCoefficients, spec: LoihiSpec) -> tuple[int, int, dict[str, float]]:
    du = decay_to_fixed(float(np.mean(c.current_decay)), spec.du_offset, spec.du_bits, spec)
    dv = decay_to_fixed(float(np.mean(c.voltage_decay)), spec.dv_offset, spec.dv_bits, spec)
    u_eff = (du + spec.du_offset) / spec.decay_unity
    v_eff = (dv + spec.dv_offset) / spec.decay_unity

    def worst(effective: float, exact: np.ndarray) -> float:
        scale = np.where(exact != 0, np.abs(exact), 1.0)
        return float(np.max(np.abs(effective - exact) / scale))

    return du, dv, {"decay_u_rel_error": worst(u_eff, c.current_decay),
                    "decay_v_rel_error": worst(v_eff, c.voltage_decay)}


def _safe_div(num: float | np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(den > 0, np.asarray(num, dtype=np.float64) / np.where(den > 0, den, 1),
                        np.inf)


def _scale_limit(c: EulerCoefficients, u_max: np.ndarray, w_max: np.ndarray,
                 spec: LoihiSpec) -> np.ndarray:
    """The largest scale per neuron that keeps u off the wrap point, the bias in range and
    the largest incoming weight within the largest mantissa at the largest exponent."""
    u_limit = float(1 << (spec.u_bits - 1 - U_HEADROOM_BITS))
    bias_limit = float(spec.bias_mant_max << spec.bias_exp_max)
    _, _, mantissa_max = weight_grid("mixed", spec.weight_bits, spec)
    weight_limit = mantissa_max * 2.0 ** (spec.weight_exp_max + spec.act_shift_bits)
    return np.minimum.reduce([_safe_div(u_limit, u_max),
                              _safe_div(bias_limit, np.abs(c.voltage_bias)),
                              _safe_div(weight_limit, w_max * c.input_gain)])


def _spiking_scale(pop: Population, thr: np.ndarray, limit: np.ndarray,
                   spec: LoihiSpec, notes: list[str]) -> tuple[int, np.ndarray]:
    if np.any(thr < 0):
        raise MappingError(_where(pop), f"has a threshold below its reset value (min "
                           f"{float(thr.min()):g}); Lava's vth is unsigned.",
                           "Use v_threshold > v_reset.")
    v_limit = float(spec.vth_max << spec.vth_shift_bits)
    positive = thr > 0
    scale = np.minimum(limit, v_limit)
    if not np.any(positive):
        return 0, scale
    best = min(v_limit, float(np.min(limit[positive] * thr[positive])))
    vth = int(np.floor(best / (1 << spec.vth_shift_bits)))
    if vth < 1:
        notes.append("threshold scale forced to vth = 1: worst-case u may wrap")
        vth = 1
    scale = np.where(positive, (vth << spec.vth_shift_bits) / np.where(positive, thr, 1), scale)
    return vth, scale


def _silent_scale(c: EulerCoefficients, u_max: np.ndarray, limit: np.ndarray,
                  spec: LoihiSpec, v_max: np.ndarray | None) -> np.ndarray:
    v_limit = float(spec.vth_max << spec.vth_shift_bits)
    leak = np.maximum(c.voltage_decay, 1.0 / INTEGRATOR_RANGE_STEPS)
    v_ref = (np.abs(c.voltage_bias) + u_max) / leak if v_max is None else v_max
    best = float(np.min(np.minimum(limit, _safe_div(v_limit, v_ref))))
    return np.full(c.voltage_decay.shape, best if np.isfinite(best) else 1.0)


def _row_reduce(proj: Projection, transform: Callable[[np.ndarray], np.ndarray],
                ufunc: np.ufunc) -> np.ndarray:
    """``ufunc`` over each post row of ``transform(weights)``: for a sparse weight a reduction
    along the CSR rows in row blocks (no COO of the synapses, no full-size temporary); empty
    rows give 0."""
    n_post = proj.shape[0]
    if not proj.is_sparse:
        w = np.asarray(proj.weight)
        return ufunc.reduce(transform(w), axis=1) if proj.shape[1] else np.zeros(n_post)
    indptr, data = proj.weight.indptr, proj.weight.data
    found = np.zeros(n_post)
    for r0, r1 in row_blocks(indptr):
        starts = indptr[r0:r1]
        filled = starts < indptr[r0 + 1:r1 + 1]
        if np.any(filled):
            values = transform(data[int(indptr[r0]):int(indptr[r1])])
            found[r0:r1][filled] = ufunc.reduceat(values, (starts - indptr[r0])[filled])
    return found


def worst_case_input(graph: Graph, name: str) -> np.ndarray:
    """Per neuron of ``name``: max(sum of positive, |sum of negative|) incoming weights."""
    size = graph.populations[name].size
    pos, neg = np.zeros(size), np.zeros(size)
    for proj in graph.incoming(name):
        pos += _row_reduce(proj, lambda w: np.maximum(w, 0), np.add)
        neg += _row_reduce(proj, lambda w: np.maximum(-w, 0), np.add)
    return np.maximum(pos, neg)


def largest_input_weight(graph: Graph, name: str) -> np.ndarray:
    """Per neuron of ``name``: the largest |weight| of its incoming synapses."""
    largest = np.zeros(graph.populations[name].size)
    for proj in graph.incoming(name):
        largest = np.maximum(largest, _row_reduce(proj, np.abs, np.maximum))
    return largest


def quantize_population(graph: Graph, pop: Population, spec: LoihiSpec, policy: str,
                        observed: Mapping[str, np.ndarray] | None = None) -> PopulationQuant:
    """Lava LIF parameters for ``pop`` (see the module docstring for the formulas)."""
    c = euler_coefficients(pop, graph.dt_s)
    notes = [c.note] if c.note else []
    shift = _reset_shift(pop, policy, notes)
    bias_v = c.voltage_bias - c.voltage_decay * shift
    c = EulerCoefficients(c.current_decay, c.input_gain, c.voltage_decay, bias_v)
    if observed is None:
        u_max = worst_case_input(graph, pop.name) * c.input_gain / c.current_decay
    else:
        u_max = observed["u"] * CALIBRATION_MARGIN
    limit = _scale_limit(c, u_max, largest_input_weight(graph, pop.name), spec)
    if pop.neuron_model.spiking:
        thr = pop.params["v_threshold"] - shift
        vth, scale = _spiking_scale(pop, thr, limit, spec, notes)
    else:
        v_max = None if observed is None else observed["v"] * CALIBRATION_MARGIN
        vth, scale = spec.vth_max, _silent_scale(c, u_max, limit, spec, v_max)
    du, dv, decay_errors = _decays(c, spec)
    bias_mant, bias_exp, saturated = bias_to_fixed(scale * bias_v, spec)
    bias_error = relative_error((bias_mant * 2.0 ** bias_exp) / scale, bias_v)
    record = {"du": du, "dv": dv, "vth": vth, "scale_min": float(scale.min()),
              "scale_max": float(scale.max()), **decay_errors,
              "bias_rel_error": bias_error, "bias_saturated": saturated,
              "calibrated": observed is not None, "notes": notes}
    return PopulationQuant(pop.name, du, dv, vth, bias_mant, bias_exp, scale, record)


def row_factor(graph: Graph, name: str, quant: PopulationQuant, spec: LoihiSpec) -> np.ndarray:
    """Per post neuron: a_in units per unit float weight (``g * S / 2^act_shift``)."""
    c = euler_coefficients(graph.populations[name], graph.dt_s)
    return c.input_gain * quant.v_scale / (1 << spec.act_shift_bits)


def quantize_projection(proj: Projection, factor: np.ndarray, spec: LoihiSpec,
                        activity: np.ndarray | None = None) -> ProjectionQuant:
    """Mantissas and weight_exp of ``proj`` given its post rows' factors (and, for
    calibrated weight scaling, a weight per source neuron). A sparse weight gives a CSR of
    its nonzero mantissas: its index arrays are the weight's own when no mantissa is zero."""
    calibrated = activity is not None
    if proj.is_sparse:
        weight = proj.weight
        stored, exp, stats = quantize_blocks(_sparse_blocks(weight, factor, activity),
                                             weight.nnz, spec, calibrated)
        mantissa: Weight = _nonzero_csr(stored, weight)
    else:
        weight = np.asarray(proj.weight)
        stored, exp, stats = quantize_blocks(_dense_blocks(weight, factor, activity),
                                             weight.size, spec, calibrated)
        mantissa = stored.reshape(weight.shape)
    return ProjectionQuant(proj.name, mantissa, exp, spec.weight_bits, stats)


def _nonzero_csr(data: np.ndarray, like: sp.csr_array) -> sp.csr_array:
    """The CSR of ``data`` (one value per entry of ``like``) without its zeros; ``like``'s
    index arrays are shared, not copied, when nothing is dropped. ``data`` is compacted in
    place (``kernels.drop_zeros``: no full-size mask or copy)."""
    zeros = like.nnz - int(np.count_nonzero(data))
    shared = like.indices.flags.writeable and like.indptr.flags.writeable  # scipy edits in place
    if zeros == 0 and shared:
        return sp.csr_array((data, like.indices, like.indptr), shape=like.shape)
    from neurocc.backends.loihi.kernels import drop_zeros

    indices = np.empty(like.nnz - zeros, like.indices.dtype)
    indptr = np.empty_like(like.indptr)
    kept = drop_zeros(data, like.indices, like.indptr, indices, indptr)
    return sp.csr_array((data[:kept], indices, indptr), shape=like.shape)


def quantize_network(graph: Graph, spec: LoihiSpec, reset_policy: str = "error",
                     observed: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                     activity: Mapping[str, np.ndarray] | None = None) -> QuantizedNetwork:
    """Quantize every non-input population and every projection of ``graph``.

    ``activity`` (per population, a weight per neuron) turns on calibrated weight scaling
    for the projections leaving it."""
    if reset_policy not in RESET_POLICIES:
        raise MappingError("option reset_policy", f"is {reset_policy!r}.",
                           f"Use one of {list(RESET_POLICIES)}.")
    pops: dict[str, PopulationQuant] = {}
    for name, pop in graph.populations.items():
        if pop.model == "input":
            continue
        if pop.model not in LIF_MODELS:
            raise MappingError(_where(pop), f"model '{pop.model}' has no Lava LIF form "
                               f"(Loihi targets take {', '.join(LIF_MODELS)}).",
                               "Compile for the reference target, or replace the node in the "
                               "model (for example a threshold by an IF neuron).")
        seen = None if observed is None else observed.get(name)
        pops[name] = quantize_population(graph, pop, spec, reset_policy, seen)
    projs = {name: quantize_projection(proj, row_factor(graph, proj.target,
                                                        pops[proj.target], spec), spec,
                                       None if activity is None else activity[proj.source])
             for name, proj in graph.projections.items()}
    return QuantizedNetwork(pops, projs)


# -- calibration: observed ranges of the float model -------------------------------------
# The ranges come from a run of the reference engine (sim/reference), the ground truth every
# engine is checked against, so calibration sees the float model's own spikes and v.
def _reference_run(graph: Graph, input_spikes: np.ndarray) -> SimResult:
    try:
        return run_graph(graph, input_spikes, record_states=True, record_synaptic=True)
    except SimulationError as exc:
        raise MappingError(f"option calibration_spikes: {exc.where}", exc.what,
                           exc.hint) from exc


def _largest_current(c: EulerCoefficients, synaptic: np.ndarray) -> np.ndarray:
    """Per neuron, the largest |c| of ``c' = (1-a_c) c + g (W s)`` over a (batch, T, size)
    trace of ``W s`` (the linear form's current contribution, in voltage units per step)."""
    current = np.zeros((synaptic.shape[0], synaptic.shape[2]))
    largest = np.zeros(synaptic.shape[2])
    for t in range(synaptic.shape[1]):
        current = (1 - c.current_decay) * current + c.input_gain * synaptic[:, t]
        largest = np.maximum(largest, np.abs(current).max(axis=0))
    return largest


def source_activity(graph: Graph, input_spikes: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per population, a weight per neuron for calibrated weight scaling: the mean spike
    count per sample of a reference run on ``input_spikes`` (plus a floor of one spike in
    the whole run, so a neuron silent there still counts a little); all ones without spikes.
    """
    if input_spikes is None:
        return {name: np.ones(pop.size) for name, pop in graph.populations.items()}
    result = _reference_run(graph, input_spikes)
    floor = 1.0 / input_spikes.shape[0]
    found = {name: np.ones(pop.size) for name, pop in graph.populations.items()}
    found.update({name: spikes.sum(axis=1).mean(axis=0) + floor
                  for name, spikes in result.spikes.items()})
    return found


def observe_ranges(graph: Graph, input_spikes: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per population with a linear Euler form, per neuron: the largest |u| and |v| of a
    reference-engine run on ``input_spikes`` (batch, T, n_inputs) of 0/1.

    ``v`` is the engine's own recorded ``v`` (after reset). ``u`` follows the recorded
    synaptic input ``W s`` (``I.current/<name>``, no bias) through the linear form of
    ``euler_coefficients``: ``c' = (1-a_c) c + g (W s)``. Other models (input, threshold,
    output, lif_cur_exp) are skipped; ``quantize_network`` refuses them with its own message.
    """
    result = _reference_run(graph, input_spikes)
    seen: dict[str, dict[str, np.ndarray]] = {}
    for name, pop in graph.populations.items():
        if pop.model not in EULER_RULES:
            continue
        synaptic = result.states[synaptic_trace(DEFAULT_RECEPTOR, name)]
        v = np.abs(result.states[f"v/{name}"]).max(axis=(0, 1), initial=0.0)
        seen[name] = {"u": _largest_current(euler_coefficients(pop, graph.dt_s), synaptic),
                      "v": v}
    return seen
