"""One array of the analog engine: programming once, then one read per step.

Programming (:func:`program_tile`), from the artifact's signed digits ``d`` (``mapping.py``):
target conductances ``G+_T = g_min + dG max(d, 0)``, ``G-_T = g_min + dG max(-d, 0)``, then in
this order, each from its own random stream of (seed, array, effect), so switching one effect
off leaves the draws of the others unchanged:

1. programming noise and drift exponents (``devices.py``);
2. stuck devices (at ``g_max`` or ``g_min``); 3. read gain ``1 + d2d N``;
4. first-order line resistance: a device ``p`` wire segments from its driver and its sense
   amplifier sees ``G_eff = G / (1 + G r p)`` (``r`` = ``line_resistance_ohm`` per cell;
   ``p`` = (physical column + 1) along the word line + (rows - row) along the bit line). This
   is each device's own series resistance; the drop from the other devices' currents on the
   shared wires is not modelled, so it is a lower bound of the IR drop.

A read at time ``t`` (:func:`read_tile`) with inputs ``x`` (batch, rows):

    G(t)  = G_eff ((t + t0) / t0)^(-nu)                       (drift)
    x_q   = clip(round(x (2^b_dac - 1)) / (2^b_dac - 1), 0, 1)  (DAC)
    I_k   = x_q @ (G+_k(t) - G-_k(t))  +  sqrt(x_q^2 @ ((r+ G+_k)^2 + (r- G-_k)^2)) N
    Q_k   = clip(round(I_k / lsb), -A, A) lsb     (ADC: A = 2^(b-1) - 1, lsb = range / A)
    y     = scale c sum_k levels^k Q_k / dG                    (digital shift-add)

in units of uS x v_read (``range = adc_range_cells (g_max - g_min)``); ``r`` is the relative
read-noise sigma of each device, so the noise term is the exact distribution of the column
sum of independent per-device read noise. ``c`` is the drift compensation: the array's summed
conductance at programming over that at ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.backends.crossbar.options import CrossbarEngineOptions
from neurocc.backends.targets import TargetSpec
from neurocc.sim.crossbar import devices
from neurocc.sim.crossbar.devices import Device

MICRO = 1e-6  # uS -> S
STREAMS = ("programming_noise", "drift", "stuck", "d2d", "read_noise")


def stream(seed: int, index: int, name: str) -> np.random.Generator:
    """The random stream of one effect of one array (independent of the other switches)."""
    return np.random.default_rng([seed, index, STREAMS.index(name)])


@dataclass(frozen=True)
class Periphery:
    """The converters and scales of one target, read once from its spec."""

    levels: int
    dg_us: float
    dac_steps: int
    adc_lsb: float
    adc_top: int

    @classmethod
    def of(cls, spec: TargetSpec) -> Periphery:
        steps = int(spec.levels) - 1
        dg = (spec.g_max_us - spec.g_min_us) / steps
        top = 2 ** (int(spec.adc_bits) - 1) - 1
        full = spec.adc_range_cells * (spec.g_max_us - spec.g_min_us)
        return cls(int(spec.levels), dg, 2 ** int(spec.dac_bits) - 1, full / top, top)


@dataclass(frozen=True, eq=False)
class Programmed:
    """One array after programming: conductances (slices, rows, outs) and what reads need.

    When nothing a read uses changes with time (no drift, read noise off or time-invariant),
    the array is folded at programming: ``diff = G+ - G-`` and the read variance ``var``
    are kept instead of ``g_pos`` and ``g_neg`` (the same arithmetic a read would do, once:
    identical results, the same memory, fewer passes per read)."""

    entry: Mapping[str, Any]  # the layout's tile record
    shape: tuple[int, int, int]  # (slices, rows, outs)
    g_pos: np.ndarray | None  # None when folded
    g_neg: np.ndarray | None
    nu_pos: np.ndarray | None
    nu_neg: np.ndarray | None
    fanout: np.ndarray  # nonzero weights per source row (synops)
    rng: np.random.Generator  # read noise
    diff: np.ndarray | None = None  # folded: G+ - G-
    var: np.ndarray | None = None  # folded with read noise on: the per-device variance sum


def path_segments(spec: TargetSpec, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Wire segments from driver and sense amplifier to each G+ and G- device of a tile."""
    slices, rows, outs = shape
    column = 2 * (np.arange(outs)[None, None, :] * slices + np.arange(slices)[:, None, None])
    along_bit_line = (int(spec.rows) - np.arange(rows))[None, :, None]
    return column + 1 + along_bit_line, column + 2 + along_bit_line


def live(device: Device, options: CrossbarEngineOptions, effect: str) -> bool:
    """An effect is modelled when switched on and not inert for this target (an inert one,
    e.g. rram256k's zero drift, is skipped: same result, no draws, no exponents stored)."""
    return options.on(effect) and not devices.inert(device, effect)


def _static(g: np.ndarray, target: np.ndarray, device: Device, spec: TargetSpec,
            options: CrossbarEngineOptions, streams: dict[str, np.random.Generator],
            segments: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if options.on("programming_noise"):
        g = devices.program(device, target, streams["programming_noise"])
    nu = devices.drift_exponents(device, target, streams["drift"]) \
        if live(device, options, "drift") else None
    if live(device, options, "stuck"):
        on, off = devices.stuck_masks(device, g.shape, streams["stuck"])
        g = np.where(on, spec.g_max_us, np.where(off, spec.g_min_us, g))
    if live(device, options, "d2d"):
        g = g * devices.read_gains(device, g.shape, streams["d2d"])
    if options.on("line_resistance"):
        g = g / (1.0 + g * MICRO * spec.line_resistance_ohm * segments)
    return g, nu


def program_tile(index: int, entry: Mapping[str, Any], codes: np.ndarray, spec: TargetSpec,
                 device: Device, periphery: Periphery, options: CrossbarEngineOptions
                 ) -> Programmed:
    """Program one array from its signed digits (see the module docstring for the order)."""
    target_pos = spec.g_min_us + periphery.dg_us * np.maximum(codes, 0)
    target_neg = spec.g_min_us + periphery.dg_us * np.maximum(-codes, 0)
    streams = {name: stream(options.seed, index, name) for name in STREAMS}
    seg_pos, seg_neg = path_segments(spec, codes.shape)
    g_pos, nu_pos = _static(target_pos, target_pos, device, spec, options, streams, seg_pos)
    g_neg, nu_neg = _static(target_neg, target_neg, device, spec, options, streams, seg_neg)
    fanout = np.count_nonzero(np.any(codes != 0, axis=0), axis=1)
    shape = (int(codes.shape[0]), int(codes.shape[1]), int(codes.shape[2]))
    noise = options.on("read_noise")
    if nu_pos is None and nu_neg is None and \
            (not noise or device.kind in devices.TIME_INVARIANT_READ_NOISE):
        var = variance(device, g_pos, g_neg, g_pos, g_neg, 0.0) if noise else None
        return Programmed(entry, shape, None, None, None, None, fanout, streams["read_noise"],
                          g_pos - g_neg, var)
    return Programmed(entry, shape, g_pos, g_neg, nu_pos, nu_neg, fanout,
                      streams["read_noise"])


def variance(device: Device, programmed_pos: np.ndarray, programmed_neg: np.ndarray,
             g_pos: np.ndarray, g_neg: np.ndarray, t_s: float) -> np.ndarray:
    """``(r+ G+)^2 + (r- G-)^2`` per device pair, ``r`` from the programmed conductances."""
    return ((devices.read_sigma(device, programmed_pos, t_s) * g_pos) ** 2
            + (devices.read_sigma(device, programmed_neg, t_s) * g_neg) ** 2)


def _at_time(tile: Programmed, device: Device, options: CrossbarEngineOptions, t_s: float
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """Conductances at ``t_s`` and the drift compensation gain (of an unfolded array)."""
    if tile.g_pos is None or tile.g_neg is None:
        raise ValueError("a folded array has no conductances to drift")  # internal misuse
    if tile.nu_pos is None or tile.nu_neg is None:
        return tile.g_pos, tile.g_neg, 1.0
    g_pos = tile.g_pos * devices.drift_factor(device, tile.nu_pos, t_s)
    g_neg = tile.g_neg * devices.drift_factor(device, tile.nu_neg, t_s)
    now = float(g_pos.sum() + g_neg.sum())
    gain = float(tile.g_pos.sum() + tile.g_neg.sum()) / now \
        if options.drift_compensation and now > 0 else 1.0
    return g_pos, g_neg, gain


def dac(x: np.ndarray, periphery: Periphery) -> np.ndarray:
    """Inputs as the DAC drives them: ``2^bits - 1`` steps over [0, 1], clipped (spikes pass)."""
    steps = periphery.dac_steps
    return np.clip(np.rint(x * steps) / steps, 0.0, 1.0)


def adc(current: np.ndarray, periphery: Periphery) -> np.ndarray:
    """The column currents as the ADC returns them: rounded to its LSB, clipped at full scale."""
    codes = np.clip(np.rint(current / periphery.adc_lsb), -periphery.adc_top, periphery.adc_top)
    return codes * periphery.adc_lsb


def column_currents(tile: Programmed, x: np.ndarray, device: Device,
                    options: CrossbarEngineOptions, t_s: float) -> tuple[np.ndarray, float]:
    """Noisy analog column currents (batch, slices, outs) in uS x v_read, and the gain c."""
    if tile.diff is not None:  # folded at programming
        diff, var, gain = tile.diff, tile.var, 1.0
    else:
        g_pos, g_neg, gain = _at_time(tile, device, options, t_s)
        diff, var = g_pos - g_neg, None
        if options.on("read_noise") and tile.g_pos is not None and tile.g_neg is not None:
            var = variance(device, tile.g_pos, tile.g_neg, g_pos, g_neg, t_s)
    current = np.einsum("br,srk->bsk", x, diff)
    if options.on("read_noise") and var is not None:
        sigma = np.sqrt(np.einsum("br,srk->bsk", x ** 2, var))
        current = current + sigma * tile.rng.standard_normal(current.shape)
    return current, gain


def read_tile(tile: Programmed, x: np.ndarray, device: Device, periphery: Periphery,
              options: CrossbarEngineOptions, t_s: float) -> tuple[np.ndarray, int]:
    """The digital output (batch, outs) of one array read, in weight units, and how many
    conversions hit the ADC's full scale (clipped)."""
    if options.on("dac"):
        x = dac(x, periphery)
    current, gain = column_currents(tile, x, device, options, t_s)
    clipped = 0
    if options.on("adc"):
        clipped = int(np.count_nonzero(np.abs(current) > periphery.adc_top * periphery.adc_lsb))
        current = adc(current, periphery)
    weights = float(periphery.levels) ** np.arange(current.shape[1])
    y = float(tile.entry["scale"]) * gain * np.einsum("bsk,s->bk", current,
                                                      weights) / periphery.dg_us
    return y, clipped
