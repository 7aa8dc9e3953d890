"""Device physics of the crossbar engine: statistical models dispatched on ``device.kind``.

Conductances are in uS; ``x = G / g_max``. Every function takes a :class:`Device` (the
target's ``device`` section and conductance range) and, where it draws, a numpy Generator.

Both kinds (``pcm`` as aihwkit's PCMLikeNoiseModel, Nandakumar et al. 2019; ``rram`` with the
Wan 2022 fit; ``shared/reference/crossbar-energy.md`` §1.1):

- programming, once: ``G_p = max(G_T + sigma_p(x_T) N, 0)``, ``sigma_p(x) = c0 + c1 x + c2 x^2
  + c3 x^3`` (uS);
- drift exponent, once: ``nu = |clip(a_m ln x + b_m, lo_m, hi_m) + clip(a_s ln x + b_s, lo_s,
  hi_s) N|`` (x of the target conductance);
- drift at time t after programming: ``G(t) = G_p ((t + t0) / t0)^(-nu)``;
- read noise, relative sigma of one read (:func:`read_sigma`, by kind; x of ``G_p``):
  ``pcm``: ``min(q0 / max(x^e, 1e-3), q_max) sqrt(ln((t + t0 + t_read) / (2 t_read)))``
  (aihwkit's accumulated 1/f noise); ``rram``: ``min(q0, q_max)`` (white, about 1 %).

Faults and spread, once: a fraction ``stuck_on_rate`` of the devices sits at ``g_max``,
``stuck_off_rate`` at ``g_min``; each device's read gain is ``1 + d2d_variation N``.
Switching randomness (``rram``): one SET (RESET) pulse without verify leaves
``Normal(switching_set_mean_us, switching_set_std_us)`` (RESET: ``switching_reset_*``),
clipped to ``[g_min, g_max]`` (:func:`switched`), which the zero-shot reservoir samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import SimulationError

X_FLOOR = 1e-3  # aihwkit's floor of x^e in the read-noise law (avoids 1/0 at G = 0)


@dataclass(frozen=True)
class Device:
    """The device model of one target: its kind, range and every device-section number."""

    kind: str
    g_min_us: float
    g_max_us: float
    values: dict[str, float]

    @classmethod
    def of(cls, spec: TargetSpec) -> Device:
        values = {k: float(e.value) for k, e in spec.entries.items() if k != "kind"}
        return cls(str(spec.kind), float(spec.g_min_us), float(spec.g_max_us), values)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def x(self, g_us: np.ndarray) -> np.ndarray:
        return np.asarray(g_us, dtype=np.float64) / self.g_max_us


def programming_sigma(device: Device, g_target_us: np.ndarray) -> np.ndarray:
    """sigma_p(x) in uS: the spread of a device programmed to ``g_target_us``."""
    x = device.x(g_target_us)
    return (device["prog_noise_c0_us"] + device["prog_noise_c1_us"] * x
            + device["prog_noise_c2_us"] * x ** 2 + device["prog_noise_c3_us"] * x ** 3)


def program(device: Device, g_target_us: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Programmed conductances: the target plus programming noise, clamped at 0 (aihwkit)."""
    noise = programming_sigma(device, g_target_us) * rng.standard_normal(np.shape(g_target_us))
    return np.maximum(np.asarray(g_target_us, dtype=np.float64) + noise, 0.0)


def _clip_log(device: Device, x: np.ndarray, name: str) -> np.ndarray:
    value = device[f"{name}_slope"] * np.log(np.maximum(x, X_FLOOR)) + device[f"{name}_offset"]
    return np.clip(value, device[f"{name}_min"], device[f"{name}_max"])


def drift_exponents(device: Device, g_target_us: np.ndarray, rng: np.random.Generator
                    ) -> np.ndarray:
    """nu per device, drawn once: ``|nu_mean(x) + nu_std(x) N|``."""
    x = device.x(g_target_us)
    mean, std = _clip_log(device, x, "drift_nu_mean"), _clip_log(device, x, "drift_nu_std")
    return np.abs(mean + std * rng.standard_normal(np.shape(x)))


def drift_factor(device: Device, nu: np.ndarray, t_s: float) -> np.ndarray:
    """``((t + t0) / t0)^(-nu)``: what drift multiplies a programmed conductance by at t."""
    t0 = device["drift_t0_s"]
    return np.power((t_s + t0) / t0, -np.asarray(nu))


def _read_sigma_pcm(device: Device, g_us: np.ndarray, t_s: float) -> np.ndarray:
    x = np.maximum(device.x(np.abs(g_us)) ** device["read_noise_exponent"], X_FLOOR)
    q = np.minimum(device["read_noise_q0"] / x, device["read_noise_q_max"])
    t_read = device["read_time_ns"] * 1e-9
    return q * np.sqrt(np.log((t_s + device["drift_t0_s"] + t_read) / (2 * t_read)))


def _read_sigma_rram(device: Device, g_us: np.ndarray, t_s: float) -> np.ndarray:
    sigma = min(device["read_noise_q0"], device["read_noise_q_max"])
    return np.full(np.shape(g_us), sigma)


READ_SIGMA: dict[str, Callable[[Device, np.ndarray, float], np.ndarray]] = {
    "pcm": _read_sigma_pcm, "rram": _read_sigma_rram}
# kinds whose read sigma does not depend on the time since programming (white noise)
TIME_INVARIANT_READ_NOISE = frozenset({"rram"})


def read_sigma(device: Device, g_us: np.ndarray, t_s: float) -> np.ndarray:
    """Relative sigma of one read, ``t_s`` after programming, of devices programmed to
    ``g_us`` (aihwkit takes x of the programmed conductance, not of the drifted one)."""
    return READ_SIGMA[device.kind](device, g_us, t_s)


def conductance_at(device: Device, g_programmed_us: np.ndarray, nu: np.ndarray, t_s: float,
                   rng: np.random.Generator) -> np.ndarray:
    """aihwkit's ``apply_drift_noise_to_conductance``: drift, then one read-noise draw, >= 0.

    The engine draws read noise per read instead (``engine.py``); this is the form the
    comparison with aihwkit's statistics uses.
    """
    drifted = np.asarray(g_programmed_us) * drift_factor(device, nu, t_s)
    sigma = read_sigma(device, g_programmed_us, t_s)
    return np.maximum(drifted + np.abs(drifted) * sigma * rng.standard_normal(drifted.shape),
                      0.0)


def inert(device: Device, effect: str) -> bool:
    """Whether the target's numbers make ``effect`` ("drift", "stuck" or "d2d") a no-op, so
    its draws can be left out with an identical result: drift exponents clipped to [0, 0]
    (``nu = 0``: a factor of exactly 1), both stuck rates 0 (empty masks), a read-gain
    spread of 0 (gains of exactly 1). Each effect has its own random stream, so leaving one
    out does not move the draws of the others."""
    if effect == "drift":
        return all(device[f"drift_nu_{k}_{end}"] == 0 for k in ("mean", "std")
                   for end in ("min", "max"))
    if effect == "stuck":
        return device["stuck_on_rate"] == 0 and device["stuck_off_rate"] == 0
    if effect == "d2d":
        return device["d2d_variation"] == 0
    return False


def stuck_masks(device: Device, shape: tuple[int, ...], rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """(stuck at g_max, stuck at g_min) masks, disjoint, drawn once."""
    u = rng.random(shape)
    on = u < device["stuck_on_rate"]
    off = (u >= device["stuck_on_rate"]) & (u < device["stuck_on_rate"]
                                            + device["stuck_off_rate"])
    return on, off


def read_gains(device: Device, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Per-device read gain ``1 + d2d_variation N`` (at least 0), drawn once."""
    return np.maximum(1.0 + device["d2d_variation"] * rng.standard_normal(shape), 0.0)


def switched(device: Device, state: str, shape: tuple[int, ...], rng: np.random.Generator
             ) -> np.ndarray:
    """Conductances after one SET or RESET pulse without verify (``rram`` devices)."""
    if state not in ("set", "reset"):
        raise SimulationError(f"switching state '{state}'", "is not a pulse.",
                              "Use 'set' or 'reset'.")
    key = f"switching_{state}"
    if f"{key}_mean_us" not in device.values:
        raise SimulationError(f"device kind '{device.kind}'", "has no switching distribution "
                              "in its target file.", "Use a target of device kind 'rram'.")
    draw = device[f"{key}_mean_us"] + device[f"{key}_std_us"] * rng.standard_normal(shape)
    return np.clip(draw, device.g_min_us, device.g_max_us)
