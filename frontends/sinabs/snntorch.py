"""``read_snntorch``: an snnTorch 1.0 module -> Graph, through snnTorch's own NIR export.

The structure (layers, weights, biases, convolutions) comes from
``snntorch.export_nir.export_to_nir`` read by the NIR frontend. The neurons
do not: the export fixes ``dt = 1e-4`` s, writes ``tau = dt/(1 - beta)`` in
float32, and always writes a reset to zero (nir >= 1.0.6), whatever the
layer's ``reset_mechanism``. Each neuron population is therefore rebuilt from
its snnTorch layer, at the caller's ``dt_s``, with the exact discrete update
snnTorch runs (``snntorch/_neurons/leaky.py``, ``synaptic.py``; ``H`` is the
Heaviside step ``x > 0``)::

    Leaky:     reset = H(mem - thr)  (of the previous step: reset_delay=True)
               mem = beta*mem + x - reset*thr      ("subtract")
               mem = beta*(1 - reset)*mem + x      ("zero")
               spk = H(mem - thr)
    Synaptic:  syn = alpha*syn + x; mem = beta*mem + syn; spk = H(mem - thr)

"zero" is the graph's lif with reset to 0 (``tau_s = dt/(1 - beta)``, ``r =
1/(1 - beta)``). "subtract" removes the threshold *after* the decay of the
next step, which the graph's subtract reset (before the decay) does not: it is
lowered exactly as a cubalif whose synaptic current is snnTorch's membrane
(``tau_syn_s = dt/(1 - beta)``, ``w_in = 1/(1 - beta)``), whose membrane copies
it each step (``tau_mem_s = dt``, ``r = 1``), and a self-projection of weight
``-thr`` and delay 1 that delivers the subtraction. "none" is the same cubalif
without the self-projection. Synaptic maps to cubalif with reset to 0 only with
``reset_mechanism="zero", reset_delay=False`` (its delayed "zero" also drops
the input of the step after a spike; its "subtract" and "none" need a third
state variable).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError, GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import RESET_TO_VALUE
from neurocc.frontends.nir import read_nir
from neurocc.frontends.nir.lowering import resolve_dt
from neurocc.frontends.nir.maps import Shape
from neurocc.frontends.sinabs.neurons import per_neuron
from neurocc.frontends.sinabs.torchlib import array, class_name, library, qualified_name

EXPORT_DT_S = 1e-4  # the time step snntorch.export_nir writes its time constants for
RESET_SUFFIX = ".reset"  # the self-projection that carries a delayed subtract reset
FEEDBACK_DELAY_STEPS = 1  # snnTorch subtracts the threshold one step after the spike


@dataclass(frozen=True)
class SnnNeuron:
    """A population rebuilt from an snnTorch layer, and its reset self-projection if any."""

    model: str
    params: dict[str, np.ndarray]
    self_weight: np.ndarray | None = None  # per neuron, delay 1: the delayed subtraction


NeuronRule = Callable[[Any, Shape, float, str], SnnNeuron]


# -- the checks every snnTorch neuron passes ------------------------------------------------
def _check_spiking(layer: Any, where: str) -> None:
    options = {"inhibition": bool(layer.inhibition), "state_quant": bool(layer.state_quant),
               "graded_spikes_factor != 1": bool(np.any(array(layer.graded_spikes_factor)
                                                        != 1.0))}
    for option, used in options.items():
        if used:
            raise FrontendError(where, f"uses {option}, which no graph model has.",
                                "Build the layer without it.")


def _decay(layer: Any, name: str, shape: Shape, where: str) -> np.ndarray:
    value = np.clip(per_neuron(getattr(layer, name), shape, name, where), 0.0, 1.0)
    if np.any(value >= 1.0):
        raise FrontendError(where, f"has {name} = 1 (no decay); the graph's leaky models "
                            "need a finite time constant.", f"Use {name} < 1.")
    return value


def _threshold(layer: Any, shape: Shape, where: str) -> np.ndarray:
    threshold = per_neuron(layer.threshold, shape, "threshold", where)
    if np.any(threshold < 0):
        raise FrontendError(where, "has a negative threshold: snnTorch then resets at the "
                            "first step, before any spike.", "Use threshold >= 0.")
    return threshold


def _mechanism(layer: Any) -> str:
    return {0: "subtract", 1: "zero", 2: "none"}[int(layer.reset_mechanism_val)]


# -- Leaky and Synaptic --------------------------------------------------------------------
def _leaky(layer: Any, shape: Shape, dt_s: float, where: str) -> SnnNeuron:
    beta, threshold = _decay(layer, "beta", shape, where), _threshold(layer, shape, where)
    mechanism = _mechanism(layer)
    zeros = np.zeros_like(beta)
    if mechanism == "zero":
        return SnnNeuron("lif", {"tau_s": dt_s / (1 - beta), "r": 1 / (1 - beta),
                                 "v_leak": zeros, "v_threshold": threshold, "v_reset": zeros})
    if mechanism == "subtract" and not layer.reset_delay:
        raise FrontendError(where, "has reset_mechanism='subtract' with reset_delay=False: "
                            "its membrane is reset twice when it stays above threshold, which "
                            "no graph model does.", "Use reset_delay=True (the default).")
    # snnTorch's membrane is the cubalif's synaptic current; v copies it (dt/tau_mem = 1).
    params = {"tau_syn_s": dt_s / (1 - beta), "w_in": 1 / (1 - beta),
              "tau_mem_s": np.full(beta.shape, dt_s), "r": np.ones_like(beta), "v_leak": zeros,
              "v_threshold": threshold, "v_reset": zeros}
    return SnnNeuron("cubalif", params, -threshold if mechanism == "subtract" else None)


def _synaptic(layer: Any, shape: Shape, dt_s: float, where: str) -> SnnNeuron:
    if _mechanism(layer) != "zero" or layer.reset_delay:
        raise FrontendError(where, f"has reset_mechanism='{_mechanism(layer)}', reset_delay="
                            f"{layer.reset_delay}: only 'zero' with reset_delay=False is "
                            "cubalif's reset (snnTorch's delayed 'zero' also drops the input "
                            "of the next step; 'subtract' and 'none' need a third state).",
                            "Use Synaptic(reset_mechanism='zero', reset_delay=False), or Leaky.")
    alpha, beta = _decay(layer, "alpha", shape, where), _decay(layer, "beta", shape, where)
    params = {"tau_syn_s": dt_s / (1 - alpha), "w_in": 1 / (1 - alpha),
              "tau_mem_s": dt_s / (1 - beta), "r": 1 / (1 - beta),
              "v_leak": np.zeros_like(beta), "v_threshold": _threshold(layer, shape, where),
              "v_reset": np.zeros_like(beta)}
    return SnnNeuron("cubalif", params)


@functools.cache
def _tables() -> tuple[dict[type, NeuronRule], tuple[type, ...], tuple[str, ...]]:
    """snnTorch neuron rules, the torch layers its export lowers, and decay names to broadcast."""
    snn, nn = library("snntorch"), library("torch.nn")
    neurons: dict[type, NeuronRule] = {snn.Leaky: _leaky, snn.Synaptic: _synaptic}
    layers = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.Flatten)
    return neurons, layers, ("alpha", "beta", "threshold")


# -- before the export --------------------------------------------------------------------------
def _leaves(module: Any) -> list[tuple[str, Any]]:
    neurons = _tables()[0]
    return [(name, m) for name, m in module.named_modules()
            if name and (type(m) in neurons or not list(m.children()))]


def _check_layers(module: Any, label: str) -> dict[str, Any]:
    """The snnTorch neurons by path; any layer the export would drop is an error first."""
    neurons, layers, _ = _tables()
    found = {}
    for path, layer in _leaves(module):
        if type(layer) in neurons:
            _check_spiking(layer, f"{label}, layer '{path}' ({class_name(layer)})")
            found[path] = layer
        elif type(layer) not in layers:
            raise FrontendError(f"{label}, layer '{path}' ({class_name(layer)})",
                                f"cannot be lowered: snnTorch's NIR export has no rule for "
                                f"{qualified_name(layer)}.",
                                "Supported: Leaky, Synaptic, Linear, Conv2d, AvgPool2d, Flatten.")
    if not found:
        raise FrontendError(label, "has no snnTorch neuron layer.", "Add Leaky or Synaptic.")
    return found


def _neuron_shapes(module: Any, sample: Any, label: str) -> dict[str, Shape]:
    """Each neuron's per-sample input shape, from one forward pass of ``module``."""
    neurons = _tables()[0]
    shapes: dict[str, Shape] = {}
    hooks = [m.register_forward_hook(functools.partial(_record_shape, shapes, name))
             for name, m in module.named_modules() if type(m) in neurons]
    hooks += [m.register_forward_hook(functools.partial(_cast_spikes, sample.dtype))
              for m in module.modules() if type(m) in neurons]
    try:
        with library("torch").no_grad():
            module(sample)
    except Exception as exc:  # any failure of the user's forward pass
        raise FrontendError(label, f"fails on a sample input of shape {list(sample.shape)} "
                            f"({exc}).", "Check input_shape (one step, without batch).") from exc
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def _record_shape(shapes: dict[str, Shape], name: str, module: Any, inputs: Any,
                  output: Any) -> None:
    shapes[name] = tuple(int(s) for s in inputs[0].shape[1:])


def _exportable(module: Any, sample: Any, label: str) -> tuple[Any, dict[str, Shape]]:
    """A copy with per-neuron decays and thresholds (nir 1.0.8 rejects scalar ones), and
    each neuron's shape."""
    torch, (neurons, _, names) = library("torch"), _tables()
    copied = copy.deepcopy(module)
    shapes = _neuron_shapes(copied, sample, label)
    for path, layer in copied.named_modules():
        if type(layer) not in neurons:
            continue
        for name in names:
            if not hasattr(layer, name):
                continue
            full = torch.broadcast_to(getattr(layer, name).detach(), shapes[path]).clone()
            is_param = name in layer._parameters
            setattr(layer, name, torch.nn.Parameter(full, False) if is_param else full)
    for layer in copied.modules():
        if type(layer) in neurons:  # spikes come out as float32: keep the model's dtype
            layer.register_forward_hook(functools.partial(_cast_spikes, sample.dtype))
    library("snntorch.utils").reset(copied)
    return copied, shapes


def _cast_spikes(dtype: Any, module: Any, inputs: Any, output: Any) -> Any:
    if isinstance(output, tuple):
        return tuple(item.to(dtype) for item in output)
    return output.to(dtype)


def _export(copied: Any, sample: Any, label: str) -> Graph:
    export = library("snntorch.export_nir").export_to_nir
    try:
        nir_graph = export(copied, sample, ignore_dims=[0])
    except Exception as exc:  # snnTorch's or nirtorch's own failure, with its message
        raise FrontendError(label, f"cannot be exported by snntorch.export_to_nir ({exc}).",
                            "Build neurons with init_hidden=True inside an nn.Sequential, "
                            "as snnTorch's export expects.") from exc
    return read_nir(nir_graph, dt_s=EXPORT_DT_S)


# -- after the export ----------------------------------------------------------------------------
def node_name(path: str) -> str:
    """nirtorch names a node after its module path with '_' for '.'."""
    return path.replace(".", "_")


def _mapped(neurons: dict[str, Any], shapes: dict[str, Shape], dt_s: float, label: str
            ) -> dict[str, SnnNeuron]:
    """Every neuron layer's population, checked before the export runs."""
    rules, mapped = _tables()[0], {}
    for path, layer in neurons.items():
        where = f"{label}, layer '{path}' ({class_name(layer)})"
        if path not in shapes:
            raise FrontendError(where, "is not called by the module's forward pass.",
                                "Remove it, or use it.")
        mapped[path] = rules[type(layer)](layer, shapes[path], dt_s, where)
    return mapped


def _rebuilt(graph: Graph, neurons: dict[str, Any], mapped: dict[str, SnnNeuron], label: str
             ) -> tuple[dict[str, Population], dict[str, Projection]]:
    populations, projections = dict(graph.populations), dict(graph.projections)
    for path, neuron in mapped.items():
        name, layer = node_name(path), neurons[path]
        if name not in populations:
            raise FrontendError(f"{label}, layer '{path}' ({class_name(layer)})", "has no "
                                "population in snnTorch's NIR export.",
                                "Build the model as an nn.Sequential, which the export traces.")
        old = populations[name]
        params = {**neuron.params, "bias": old.params["bias"]}
        metadata = {"snntorch": {"layer": class_name(layer), "path": path, "reset_mechanism":
                                 _mechanism(layer), "reset_delay": bool(layer.reset_delay)}}
        populations[name] = Population(name, neuron.model, old.shape, params, RESET_TO_VALUE,
                                       metadata)
        if neuron.self_weight is not None:
            reset = f"{name}{RESET_SUFFIX}"
            weight = sp.csr_array(sp.diags_array(neuron.self_weight))
            projections[reset] = Projection(reset, name, name, weight,
                                            np.array(FEEDBACK_DELAY_STEPS),
                                            {"snntorch": {"role": "delayed subtract reset"}})
    return populations, projections


def _sample(module: Any, input_shape: Any, label: str) -> Any:
    torch = library("torch")
    if input_shape is None:
        raise FrontendError(label, "needs input_shape: the shape of one time step's input "
                            "without batch, e.g. (784,).", "Pass input_shape=...")
    try:
        shape = tuple(int(s) for s in np.atleast_1d(np.asarray(input_shape)))
    except (TypeError, ValueError) as exc:
        raise FrontendError(label, f"input_shape={input_shape!r} is not a tuple of integers.",
                            "Pass e.g. input_shape=(784,).") from exc
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    return torch.zeros((1, *shape), dtype=dtype)


def read_snntorch(source: Any, *, input_shape: Any = None, dt_s: float | None = None) -> Graph:
    """Lower an snnTorch module (neurons with ``init_hidden=True``); see the module docstring."""
    label = f"snnTorch module {class_name(source)}"
    step_s, dt_source = resolve_dt(dt_s, {}, label)
    neurons = _check_layers(source, label)
    sample = _sample(source, input_shape, label)
    copied, shapes = _exportable(source, sample, label)
    mapped = _mapped(neurons, shapes, step_s, label)
    exported = _export(copied, sample, label)
    populations, projections = _rebuilt(exported, neurons, mapped, label)
    metadata = {**exported.metadata, "source": label, "dt_source": dt_source,
                "frontend": "snntorch", "reset_semantics": "from each snnTorch layer",
                "snntorch": {"export_dt_s": EXPORT_DT_S}}
    try:
        return Graph(step_s, populations, projections, exported.inputs, exported.outputs,
                     metadata)
    except GraphError as exc:
        raise FrontendError(f"{label}: {exc.where}", exc.what, exc.hint) from exc
