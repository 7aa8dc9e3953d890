"""sinabs' neuron layers as graph populations, each option mapped exactly or refused.

sinabs steps every layer with ``lif_forward_single``
(``sinabs/layers/functional/lif.py``)::

    i_syn = a_syn * (i_syn + x)     if tau_syn is set, else i_syn = x
    v     = a_mem * v + g * i_syn   g = 1 - a_mem if norm_input, else 1
    s     = spike_fn(v, threshold); v = reset_fn(s, v, threshold)

with ``a = exp(-1/tau)`` (tau in steps, computed in the layer's dtype; IAF has
``a_mem = 1``, ExpLeak returns ``v`` instead of spikes). The graph's models are
forward Euler steps, ``v += dt/tau_s * (v_leak - v + r*I)``, so ``tau_s =
dt/(1 - a)`` makes the decay ``a`` and ``r = g/(1 - a)`` the input gain ``g``;
``cubalif``'s ``w_in = a_syn/(1 - a_syn)`` gives the synaptic step ``a_syn*i +
a_syn*x``; ``if``'s ``r`` is ``1/dt`` (chosen so that ``dt*r`` is exactly 1).
The ``a`` used is the layer's own (``alpha_mem_calculated``: float32 for a
float32 layer), so a float64 run of the layer and the graph differ by rounding
only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.neurons import RESET_NONE, RESET_SUBTRACT, RESET_TO_VALUE
from neurocc.frontends.nir.maps import Shape
from neurocc.frontends.sinabs.torchlib import array, class_name
from neurocc.frontends.sinabs.walk import BATCH_TIME, SQUEEZED

UNIT_GAIN_SEARCH_ULPS = 4  # neighbours of 1/dt tried so that dt * r == 1.0 exactly


@dataclass(frozen=True)
class NeuronKind:
    """One sinabs neuron class: leaky or not, spiking or not, and its input layout."""

    leaky: bool  # decays with tau_mem (LIF, ExpLeak); IAF does not
    spiking: bool  # ExpLeak outputs its membrane, not spikes
    need: int  # BATCH_TIME, or SQUEEZED for the *Squeeze variants


@dataclass(frozen=True)
class NeuronMapping:
    """A population's model, per-neuron parameters (bias excluded), reset and metadata."""

    model: str
    params: dict[str, np.ndarray]
    reset: str
    metadata: dict[str, Any]


def neuron_kinds(sl: Any) -> dict[type, NeuronKind]:
    """The table of sinabs neuron classes (``sl``: sinabs.layers)."""
    return {
        sl.IAF: NeuronKind(False, True, BATCH_TIME),
        sl.IAFSqueeze: NeuronKind(False, True, SQUEEZED),
        sl.LIF: NeuronKind(True, True, BATCH_TIME),
        sl.LIFSqueeze: NeuronKind(True, True, SQUEEZED),
        sl.ExpLeak: NeuronKind(True, False, BATCH_TIME),
        sl.ExpLeakSqueeze: NeuronKind(True, False, SQUEEZED),
    }


# -- spike and reset functions ----------------------------------------------------------
SPIKE_FN_REFUSALS = {
    "MultiSpike": "emits trunc(v / threshold) spikes per step (sinabs' default), but a graph "
                  "neuron emits at most one spike per step",
    "MaxSpike": "emits up to max_num_spikes_per_bin spikes per step, but a graph neuron "
                "emits at most one",
}


def _check_spike_fn(layer: Any, where: str) -> None:
    name = getattr(layer.spike_fn, "__name__", class_name(layer.spike_fn))
    if name == "SingleSpike":
        return
    why = SPIKE_FN_REFUSALS.get(name, "is not a spike function the frontend knows")
    raise FrontendError(where, f"has spike_fn={name}: it {why}.",
                        "Build the layer with spike_fn=sinabs.activation.SingleSpike (one spike "
                        "per step, as the chips do) and fine-tune it with that.")


def _subtract(reset_fn: Any, threshold: np.ndarray, where: str) -> tuple[str, float]:
    value = reset_fn.subtract_value
    if value is not None and not np.all(np.asarray(float(value)) == threshold):
        raise FrontendError(where, f"has reset_fn=MembraneSubtract(subtract_value={value}), "
                            "not the threshold: the graph's subtract reset removes exactly "
                            "the threshold.", "Use subtract_value=None (the default).")
    return RESET_SUBTRACT, 0.0


def _reset_to(reset_fn: Any, threshold: np.ndarray, where: str) -> tuple[str, float]:
    if float(reset_fn.reset_value) != 0.0:
        raise FrontendError(where, f"has reset_fn=MembraneReset(reset_value="
                            f"{reset_fn.reset_value}); sinabs adds reset_value to every "
                            "neuron that did not spike too, which is no graph reset.",
                            "Use MembraneReset() (reset to 0) or MembraneSubtract().")
    return RESET_TO_VALUE, 0.0


RESET_FNS = {"MembraneSubtract": _subtract, "MembraneReset": _reset_to}


def _reset(layer: Any, threshold: np.ndarray, where: str) -> tuple[str, float]:
    rule = RESET_FNS.get(class_name(layer.reset_fn))
    if rule is None:
        raise FrontendError(where, f"has reset_fn={layer.reset_fn!r}, which the frontend "
                            "does not know.", "Use MembraneSubtract() or MembraneReset().")
    return rule(layer.reset_fn, threshold, where)


# -- numbers -------------------------------------------------------------------------------
def per_neuron(value: Any, shape: Shape, name: str, where: str) -> np.ndarray:
    """A layer parameter broadcast to the neuron shape, flat in C order."""
    values = array(value)
    try:
        return np.broadcast_to(values, shape).reshape(-1).copy()
    except ValueError as exc:
        raise FrontendError(where, f"has {name} of shape {list(values.shape)}, which does not "
                            f"broadcast to the neuron shape {list(shape)}.",
                            "Give one value, or one per neuron.") from exc


def spike_threshold(layer: Any, shape: Shape, where: str) -> np.ndarray:
    """The layer's spike_threshold per neuron."""
    if layer.spike_threshold is None:
        raise FrontendError(where, "has spike_threshold=None.", "Give a threshold.")
    return per_neuron(layer.spike_threshold, shape, "spike_threshold", where)


def unit_gain(dt_s: float) -> float:
    """``r`` with ``dt_s * r == 1.0`` in float64 (the ``if`` model's ``v += dt*r*I``)."""
    r = 1.0 / dt_s
    for _ in range(UNIT_GAIN_SEARCH_ULPS):
        product = dt_s * r
        if product == 1.0:
            break
        r = float(np.nextafter(r, -np.inf if product > 1.0 else np.inf))
    return r


def _alpha(value: Any, shape: Shape, name: str, where: str) -> np.ndarray:
    alpha = per_neuron(value, shape, name, where)
    if np.any(alpha < 0) or np.any(alpha >= 1):
        raise FrontendError(where, f"has a decay {name} = exp(-1/tau) outside [0, 1) "
                            f"(range {alpha.min():g}..{alpha.max():g}); the graph's leaky "
                            "models need a finite, positive time constant.",
                            "Use a finite tau > 0, or IAF for no leak.")
    return alpha


def _gain(layer: Any, alpha_mem: np.ndarray) -> np.ndarray:
    return 1.0 - alpha_mem if layer.norm_input else np.ones_like(alpha_mem)


# -- the mapping ---------------------------------------------------------------------------------
def _metadata(layer: Any, kind: NeuronKind) -> dict[str, Any]:
    data: dict[str, Any] = {"layer": class_name(layer)}
    if kind.leaky:
        data["norm_input"] = bool(layer.norm_input)
    if kind.spiking:
        data.update(spike_fn="SingleSpike", reset_fn=repr(layer.reset_fn),
                    threshold_rule="v_threshold is the float64 just below sinabs' "
                                   "spike_threshold: sinabs spikes at v >= threshold")
    return {"torch": data}


def _check_common(layer: Any, kind: NeuronKind, where: str) -> None:
    if layer.min_v_mem is not None:
        raise FrontendError(where, f"has min_v_mem={float(layer.min_v_mem.detach()):g}, a "
                            "lower clamp of the membrane that no graph model has.",
                            "Build the layer with min_v_mem=None (the default of IAF, LIF and "
                            "ExpLeak; sinabs.from_model sets -1.0 unless told otherwise).")
    if kind.spiking:
        _check_spike_fn(layer, where)
    if not kind.leaky and layer.tau_syn is not None:
        raise FrontendError(where, "has tau_syn set: an IAF with a synaptic current has no "
                            "graph model (cubalif needs a leaky membrane).",
                            "Use LIF with tau_syn, or IAF without it.")


def _spiking_params(layer: Any, shape: Shape, where: str) -> tuple[dict[str, np.ndarray], str]:
    """Threshold and reset. SingleSpike spikes at ``v >= threshold``, the graph at ``v >
    v_threshold``: for float64 ``v`` these agree exactly when ``v_threshold`` is the float64
    just below the threshold, as no float64 lies between the two."""
    threshold = spike_threshold(layer, shape, where)
    reset, v_reset = _reset(layer, threshold, where)
    below = np.nextafter(threshold, -np.inf)
    return {"v_threshold": below, "v_reset": np.full(threshold.shape, v_reset)}, reset


def _membrane(layer: Any, kind: NeuronKind, shape: Shape, dt_s: float, where: str
              ) -> tuple[str, dict[str, np.ndarray]]:
    """The model and its time parameters: lif / li / if, or cubalif with tau_syn."""
    if not kind.leaky:
        return "if", {"r": np.full(int(np.prod(shape)), unit_gain(dt_s))}
    a_mem = _alpha(layer.alpha_mem_calculated, shape, "alpha_mem", where)
    membrane = {"r": _gain(layer, a_mem) / (1.0 - a_mem), "v_leak": np.zeros_like(a_mem)}
    if getattr(layer, "tau_syn", None) is None and getattr(layer, "alpha_syn", None) is None:
        return ("lif" if kind.spiking else "li"), {"tau_s": dt_s / (1.0 - a_mem), **membrane}
    a_syn = _alpha(layer.alpha_syn_calculated, shape, "alpha_syn", where)
    return "cubalif", {"tau_mem_s": dt_s / (1.0 - a_mem), "tau_syn_s": dt_s / (1.0 - a_syn),
                       "w_in": a_syn / (1.0 - a_syn), **membrane}


def map_neuron(layer: Any, kind: NeuronKind, shape: Shape, dt_s: float, where: str
               ) -> NeuronMapping:
    """The population a sinabs neuron layer becomes (its ``bias`` comes from the chain)."""
    _check_common(layer, kind, where)
    model, params = _membrane(layer, kind, shape, dt_s, where)
    reset = RESET_NONE
    if kind.spiking:
        spiking, reset = _spiking_params(layer, shape, where)
        params.update(spiking)
    return NeuronMapping(model, params, reset, _metadata(layer, kind))
