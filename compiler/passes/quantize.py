"""Backend-independent helpers for quantization: each model's Euler step as a linear update.

Every stateful neuron model of the graph, discretised with forward Euler at
``dt`` (the reference simulator's semantics), is written per neuron as one
two-stage linear update, in the model's voltage units::

    c' = (1 - current_decay) * c + input_gain * (W s)     # "current", already in volts/step
    v' = (1 - voltage_decay) * v + c' + voltage_bias      # W s: the weighted spikes of the step

``c`` is the current's contribution to ``v`` per step. For ``lif``/``li``
``current_decay == 1`` (c carries only this step's input), ``input_gain =
dt/tau * r`` and ``voltage_bias = dt/tau * (v_leak + r*bias)``: exact. For
``if``/``integrator`` ``voltage_decay == 0``. For ``cubalif`` ``c = dt/tau_mem
* r * i_syn``, so ``current_decay = dt/tau_syn`` and ``input_gain = dt/tau_mem
* r * dt/tau_syn * w_in``; the float model feeds ``bias`` through ``i_syn``
while the linear form adds ``dt/tau_mem * (v_leak + r*w_in*bias)`` to ``v``
directly: equal at steady state, but the first ~``tau_syn`` of the bias
response differs (:attr:`EulerCoefficients.exact` is False then).

Fixed-point backends then only round these coefficients; the generic
:func:`relative_error` measures what the rounding cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Population


@dataclass(frozen=True)
class EulerCoefficients:
    """Per-neuron coefficients of the linear Euler update (arrays of the population's size)."""

    current_decay: np.ndarray
    input_gain: np.ndarray
    voltage_decay: np.ndarray
    voltage_bias: np.ndarray
    exact: bool = True
    note: str = ""


def _lif(p: Mapping[str, np.ndarray], dt_s: float) -> EulerCoefficients:
    k = dt_s / p["tau_s"]
    one = np.ones_like(k)
    return EulerCoefficients(one, k * p["r"], k, k * (p["v_leak"] + p["r"] * p["bias"]))


def _if(p: Mapping[str, np.ndarray], dt_s: float) -> EulerCoefficients:
    gain = dt_s * p["r"]
    one = np.ones_like(gain)
    return EulerCoefficients(one, gain, np.zeros_like(gain), gain * p["bias"])


def _cubalif(p: Mapping[str, np.ndarray], dt_s: float) -> EulerCoefficients:
    k_syn, k_mem = dt_s / p["tau_syn_s"], dt_s / p["tau_mem_s"]
    gain = k_mem * p["r"] * k_syn * p["w_in"]
    bias = k_mem * (p["v_leak"] + p["r"] * p["w_in"] * p["bias"])
    exact = not np.any(p["bias"] != 0)
    note = "" if exact else ("bias enters i_syn in the float model but v directly here: equal "
                             "at steady state, the first ~tau_syn of its response differs")
    return EulerCoefficients(k_syn, gain, k_mem, bias, exact, note)


EULER_RULES: dict[str, Callable[[Mapping[str, np.ndarray], float], EulerCoefficients]] = {
    "lif": _lif,
    "li": _lif,
    "if": _if,
    "integrator": _if,
    "cubalif": _cubalif,
}


def euler_coefficients(pop: Population, dt_s: float) -> EulerCoefficients:
    """The linear Euler update of ``pop`` (a MappingError for stateless models)."""
    rule = EULER_RULES.get(pop.model)
    if rule is None:
        raise MappingError(f"population '{pop.name}' ({pop.model})",
                           f"model '{pop.model}' has no state to integrate, so it has no "
                           "fixed-point neuron form.",
                           f"Models with a linear Euler form: {', '.join(sorted(EULER_RULES))}.")
    return rule(pop.params, dt_s)


def relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    """``||approx - exact|| / ||exact||`` (Euclidean; 0 when both are all zero)."""
    approx, exact = np.asarray(approx, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    norm = float(np.linalg.norm(exact))
    diff = float(np.linalg.norm(approx - exact))
    if norm == 0:
        return 0.0 if diff == 0 else float("inf")
    return diff / norm
