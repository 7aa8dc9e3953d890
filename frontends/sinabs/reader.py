"""``read_module``: a torch ``nn.Module`` of sinabs layers -> verified :class:`Graph`."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError, GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.nir.lowering import resolve_dt
from neurocc.frontends.nir.maps import Shape, identity
from neurocc.frontends.sinabs.layers import LayerRule, layer_rules
from neurocc.frontends.sinabs.neurons import NeuronKind, map_neuron, neuron_kinds
from neurocc.frontends.sinabs.torchlib import class_name, library, qualified_name
from neurocc.frontends.sinabs.walk import (
    BATCH_TIME,
    LAYOUT_NAMES,
    SQUEEZED,
    Walk,
    chain_metadata,
    compose,
    projection_name,
)

INPUT = "input"
OUTPUT = "output"
SNNTORCH_PREFIX = "snntorch"

# Layers that are known but refused, with the reason (where no rule in the tables exists).
REFUSED = {
    "IAFRecurrent": "recurrent sinabs layers are not lowered by this frontend yet",
    "LIFRecurrent": "recurrent sinabs layers are not lowered by this frontend yet",
    "ALIF": "an adaptive threshold has no graph model",
    "ALIFRecurrent": "an adaptive threshold has no graph model",
    "ALIFSqueeze": "an adaptive threshold has no graph model",
    "SpikingMaxPooling2dLayer": "max pooling of spikes is not a linear map",
    "MaxPool2d": "max pooling is not a linear map",
    "ReLU": "it is an ANN activation; convert the ANN with sinabs.from_model first",
    "NeuromorphicReLU": "it is an ANN activation; convert the ANN with sinabs.from_model first",
    "Merge": "only chains of layers (nn.Sequential) are lowered, not branches",
}


@dataclass(frozen=True)
class Rules:
    """Every class the frontend lowers: maps and layout layers, neurons, containers."""

    layers: dict[type, LayerRule]
    neurons: dict[type, NeuronKind]
    sequential: type
    repeat: type


@functools.cache
def rules() -> Rules:
    nn, sl = library("torch.nn"), library("sinabs.layers")
    return Rules(layer_rules(nn, sl), neuron_kinds(sl), nn.Sequential, sl.Repeat)


# -- walking the module tree --------------------------------------------------------------------
def children(module: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """A Sequential's layers with their dotted paths (nested Sequentials inlined)."""
    table = rules()
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if type(child) is table.sequential:
            yield from children(child, f"{path}.")
        else:
            yield path, child


def first_need(module: Any) -> int | None:
    """The input layout the first layer that needs one asks for."""
    table = rules()
    for _, layer in children(module, ""):
        kind = type(layer)
        need = (table.layers[kind].need(layer) if kind in table.layers
                else table.neurons[kind].need if kind in table.neurons
                else BATCH_TIME if kind is table.repeat else None)
        if need is not None:
            return need
    return None


def lower_layers(walk: Walk, module: Any, prefix: str) -> None:
    for path, layer in children(module, prefix):
        lower_layer(walk, layer, path)


def lower_layer(walk: Walk, layer: Any, path: str) -> None:
    table, kind = rules(), type(layer)
    if kind in table.layers:
        table.layers[kind].lower(walk, layer, path)
    elif kind in table.neurons:
        close_chain(walk, layer, path, table.neurons[kind])
    elif kind is table.repeat:
        lower_repeat(walk, layer, path)
    else:
        refuse(walk, layer, path)


def lower_repeat(walk: Walk, layer: Any, path: str) -> None:
    """sinabs Repeat(module) runs ``module`` on (batch*time, ...) and splits time again."""
    walk.expect_layout(BATCH_TIME, path, layer, "Repeat takes (batch, time, ...) input.")
    walk.leading = SQUEEZED
    inner = layer.module
    if type(inner) is rules().sequential:
        lower_layers(walk, inner, f"{path}.module.")
    else:
        lower_layer(walk, inner, f"{path}.module")
    walk.expect_layout(SQUEEZED, path, layer, "The module inside Repeat must keep the "
                       "(batch*time, ...) layout.")
    walk.leading = BATCH_TIME


def refuse(walk: Walk, layer: Any, path: str) -> None:
    name = class_name(layer)
    why = REFUSED.get(name, f"the torch frontend has no rule for {qualified_name(layer)}")
    raise FrontendError(walk.where(path, layer), f"cannot be lowered: {why}.",
                        f"Supported: {supported_text()}. Replace the layer, or build the "
                        "model from supported layers.")


def supported_text() -> str:
    table = rules()
    names = [k.__name__ for k in (*table.layers, *table.neurons)]
    return ", ".join(sorted(names)) + ", Sequential, Repeat"


# -- neurons close a chain ---------------------------------------------------------------------
def close_chain(walk: Walk, layer: Any, path: str, kind: NeuronKind) -> None:
    """A neuron layer: the population, and the projection from the chain that feeds it."""
    where = walk.where(path, layer)
    walk.expect_layout(kind.need, path, layer, "sinabs' *Squeeze layers take (batch*time, "
                       "...) input, the others (batch, time, ...): add FlattenTime or "
                       "UnflattenTime, or use the other variant.")
    mapping = map_neuron(layer, kind, walk.shape, walk.dt_s, where)
    bias = add_projection(walk, path)
    params = {**mapping.params, "bias": bias}
    walk.populations[path] = Population(path, mapping.model, walk.shape, params, mapping.reset,
                                        mapping.metadata)
    walk.source = path


def add_projection(walk: Walk, target: str) -> np.ndarray:
    """The pending chain as one projection into ``target``; returns the bias it carries."""
    source = walk.populations[walk.source]
    if not source.neuron_model.spiking:
        link = walk.chain[0].path if walk.chain else target
        raise FrontendError(f"{walk.label}, layer '{link}'", f"receives the membrane of "
                            f"'{walk.source}' ({source.metadata['torch']['layer']}), which is "
                            "not spikes: graph projections carry spikes only.",
                            "Use a non-spiking layer (ExpLeak) only as the last neuron layer.")
    weight, bias = compose(walk.chain, source.size)
    if not walk.chain:
        weight = identity(source.size)
    name = projection_name(walk, target)
    walk.projections[name] = Projection(name, walk.source, target, weight,
                                        metadata=chain_metadata(walk.chain))
    walk.chain = []
    return bias


def finish(walk: Walk) -> tuple[str, ...]:
    """The outputs: the last population, or an ``output`` read-out of a trailing map."""
    if walk.source == INPUT:
        raise FrontendError(walk.label, "has no neuron layer.",
                            "Add a spiking layer (IAF, LIF, ...); the graph needs neurons.")
    if walk.chain_is_reshape():
        return (walk.source,)
    name = OUTPUT if OUTPUT not in walk.populations else f"{OUTPUT}#1"
    bias = add_projection(walk, name)
    walk.populations[name] = Population(name, "output", walk.shape, {"bias": bias},
                                        metadata={"torch": {"layer": "read-out of the last "
                                                            "map (no neuron layer after it)"}})
    return (name,)


# -- the whole module ---------------------------------------------------------------------
def input_shape_of(module: Any, input_shape: Any, label: str) -> Shape:
    """The shape of one step's input; without one, a leading nn.Linear's in_features."""
    if input_shape is None:
        first = next((layer for _, layer in children(module, "")), None)
        if first is None or type(first) is not library("torch.nn").Linear:
            raise FrontendError(label, "needs input_shape: the shape of one time step's input "
                                "without batch and time, e.g. (2, 32, 32).",
                                "Pass input_shape=...")
        return (int(first.in_features),)
    try:
        shape = tuple(int(s) for s in np.atleast_1d(np.asarray(input_shape)))
    except (TypeError, ValueError) as exc:
        raise FrontendError(label, f"input_shape={input_shape!r} is not a tuple of integers.",
                            "Pass e.g. input_shape=(2, 32, 32).") from exc
    if not shape or min(shape) < 1:
        raise FrontendError(label, f"input_shape={input_shape!r} has no inputs.",
                            "Give positive sizes, without batch and time.")
    return shape


def uses_snntorch(module: Any) -> bool:
    return any(type(m).__module__.startswith(SNNTORCH_PREFIX) for m in module.modules())


def read_module(source: Any, *, input_shape: Any = None, dt_s: float | None = None) -> Graph:
    """Lower a torch module of sinabs (or snnTorch) layers; see the package docstring."""
    if uses_snntorch(source):
        from neurocc.frontends.sinabs.snntorch import read_snntorch

        return read_snntorch(source, input_shape=input_shape, dt_s=dt_s)
    label = f"torch module {class_name(source)}"
    if type(source) is not rules().sequential:
        raise FrontendError(label, f"is a {qualified_name(source)}; the frontend lowers "
                            "nn.Sequential models, whose order of layers is their forward pass.",
                            "Put the layers in an nn.Sequential (nesting is fine).")
    step_s, dt_source = resolve_dt(dt_s, {}, label)
    shape = input_shape_of(source, input_shape, label)
    walk = Walk(label, step_s, first_need(source) or BATCH_TIME, shape)
    walk.populations[INPUT] = Population(INPUT, "input", shape)
    lower_layers(walk, source, "")
    outputs = finish(walk)
    metadata = {"source": label, "source_sha256": None, "dt_source": dt_source,
                "frontend": "torch", "torch": {"input_shape": list(shape),
                                               "input_layout": LAYOUT_NAMES[
                                                   first_need(source) or BATCH_TIME]}}
    try:
        return Graph(step_s, walk.populations, walk.projections, (INPUT,), outputs, metadata)
    except GraphError as exc:
        raise FrontendError(f"{label}: {exc.where}", exc.what, exc.hint) from exc
