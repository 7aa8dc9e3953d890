"""``delays.learn``: train per-synapse delays with the weights of a feed-forward SNN (DCLS).

The graph must be a chain ``input -> layer 1 -> ... -> output``: one input
population, each other population fed by exactly one dense projection from the
previous one. Hidden layers are ``lif`` or ``if``; the output is a spiking
model read by its spike counts (``readout=count``) or ``li`` read by the max or
mean of its ``v`` over time. Every projection gets one delay per synapse in
``0..max_delay_steps`` (the target's ``delay_max_steps`` when compiling for a
target that has one), learned as in DCLS (see :mod:`.kernel`): the Gaussian
width ``sigma`` anneals geometrically from ``sigma_start_steps`` to
``sigma_end_steps`` over ``epochs``, the positions are rounded, then
``finetune_epochs`` train the weights with the rounded delays (the network the
graph will hold). With ``train_delays=false`` the initial delays (rounded)
stay fixed and only the weights train, on the one-tap kernel from the start.
Loss: cross-entropy of the readout against the labels.

Data: ``data=FILE.npz`` with ``spikes`` (batch, T, n_in) of 0/1, the layout
``neurocc simulate`` reads, and ``labels`` (batch,) class indices. In Python,
:func:`learn_delays` takes the arrays. Training is deterministic for a
``seed``: seeded generators, PyTorch's deterministic algorithms, one thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Projection
from neurocc.compiler.options import build_options, options_record
from neurocc.compiler.passes import register_pass

NAME = "delays.learn"
HIDDEN_MODELS = ("lif", "if")
OUTPUT_MODELS = ("lif", "if", "li")


@dataclass(frozen=True)
class LearnOptions:
    """Options of ``delays.learn``."""

    data: str | None = field(default=None, metadata={
        "help": ".npz file with 'spikes' (batch, T, n_in) and 'labels' (batch,) to train on"})
    max_delay_steps: int | None = field(default=None, metadata={
        "help": "largest delay in steps (default: the target's delay_max_steps)",
        "target_fact": "delay_max_steps"})
    epochs: int = field(default=30, metadata={"help": "epochs while sigma anneals"})
    finetune_epochs: int = field(default=5, metadata={
        "help": "epochs of weight training after the delays are rounded"})
    batch_size: int = field(default=32, metadata={"help": "samples per gradient step"})
    lr: float = field(default=0.01, metadata={"help": "Adam learning rate of the weights"})
    lr_delays: float = field(default=0.5, metadata={
        "help": "Adam learning rate of the delay positions (steps)"})
    sigma_start_steps: float | None = field(default=None, metadata={
        "help": "initial Gaussian width in steps (default: max_delay_steps / 4)"})
    sigma_end_steps: float = field(default=0.5, metadata={
        "help": "Gaussian width at the last annealing epoch, before rounding"})
    train_delays: bool = field(default=True, metadata={
        "help": "learn the delays (false: keep the initial ones, train weights only)"})
    init_delays: Literal["uniform", "graph"] = field(default="uniform", metadata={
        "help": "initial delays: uniform random in 0..max, or the graph's own"})
    readout: Literal["max", "mean", "count"] = field(default="max", metadata={
        "help": "class score: max or mean of the output's v over time (li), or spike count"})
    seed: int = field(default=0, metadata={"help": "seed of initial delays and batch order"})


@dataclass(frozen=True)
class Layer:
    """One trainable step of the chain: the projection into ``population``."""

    projection: Projection
    population: str


def _error(where: str, what: str, hint: str) -> NeuroccError:
    return NeuroccError(f"pass '{NAME}': {where}", what, hint)


def chain(graph: Graph) -> list[Layer]:
    """The layers of a feed-forward chain from the single input to the single output."""
    hint = ("delays.learn trains a chain input -> layer -> ... -> output of dense projections; "
            "learn delays before adding other edges.")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise _error("graph", f"has inputs {list(graph.inputs)} and outputs "
                     f"{list(graph.outputs)}; expected one of each.", hint)
    layers, current = [], graph.inputs[0]
    while current != graph.outputs[0]:
        leaving = [p for p in graph.projections.values() if p.source == current]
        if len(leaving) != 1:
            raise _error(f"population '{current}'", f"has {len(leaving)} outgoing projections; "
                         "expected exactly one.", hint)
        proj = leaving[0]
        if len(graph.incoming(proj.target)) != 1 or proj.is_sparse:
            raise _error(f"projection '{proj.name}'", "must be the only, dense projection into "
                         f"'{proj.target}'.", hint)
        layers.append(Layer(proj, proj.target))
        current = proj.target
    if len(layers) != len(graph.projections):
        raise _error("graph", f"has {len(graph.projections)} projections, of which only "
                     f"{len(layers)} lie on the chain.", hint)
    for i, layer in enumerate(layers):
        pop = graph.populations[layer.population]
        allowed = OUTPUT_MODELS if i == len(layers) - 1 else HIDDEN_MODELS
        if pop.model not in allowed:
            raise _error(f"population '{pop.name}'", f"has model '{pop.model}'; expected one "
                         f"of {list(allowed)} here.", "Train delays on lif/if layers.")
    return layers


def _check_readout(graph: Graph, options: LearnOptions) -> None:
    spiking = graph.populations[graph.outputs[0]].model != "li"
    if spiking != (options.readout == "count"):
        raise _error("option 'readout'", f"is '{options.readout}' for a "
                     f"{'spiking' if spiking else 'non-spiking'} output population.",
                     "Use readout=count for a spiking output, max or mean for an li output.")


def _check_counts(options: LearnOptions) -> None:
    for name, lowest in (("epochs", 0), ("finetune_epochs", 0), ("batch_size", 1)):
        if getattr(options, name) < lowest:
            raise _error(f"option '{name}'", f"is {getattr(options, name)}; expected >= "
                         f"{lowest}.", "Give a count.")
    for name in ("sigma_start_steps", "sigma_end_steps"):
        value = getattr(options, name)
        if value is not None and not value > 0:
            raise _error(f"option '{name}'", f"is {value}; expected a width > 0 steps.",
                         "The Gaussian needs a positive width; it anneals towards 0.")


def _max_delay(options: LearnOptions) -> int:
    if options.max_delay_steps is None:
        raise _error("option 'max_delay_steps'", "is not given and the target has no "
                     "'delay_max_steps' fact.", "Give max_delay_steps=N (for example the "
                     "value in the target file you will compile for).")
    if options.max_delay_steps < 0:
        raise _error("option 'max_delay_steps'", f"is {options.max_delay_steps}; expected >= 0.",
                     "Give the largest delay in steps.")
    return options.max_delay_steps


def check_data(graph: Graph, spikes: Any, labels: Any, where: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """``spikes`` as float64 (n, T, n_in) of 0/1 and ``labels`` as int64 (n,), or an error."""
    spikes, labels = np.asarray(spikes), np.asarray(labels)
    n_out = graph.populations[graph.outputs[0]].size
    if spikes.ndim != 3 or spikes.shape[2] != graph.n_inputs or not np.isin(spikes, (0, 1)).all():
        raise NeuroccError(f"{where}: 'spikes'", f"has shape {spikes.shape}; expected 0/1 of "
                           f"shape (batch, T, {graph.n_inputs}).",
                           "Save the training set as np.savez(path, spikes=..., labels=...).")
    if (labels.shape != (len(spikes),) or labels.dtype.kind not in "iu"
            or (labels.size and not 0 <= labels.min() <= labels.max() < n_out)):
        raise NeuroccError(f"{where}: 'labels'", f"has shape {labels.shape} and dtype "
                           f"{labels.dtype}; expected {len(spikes)} integers in 0..{n_out - 1} "
                           "(one class per output neuron).", "Give one class index per sample.")
    return spikes.astype(np.float64), labels.astype(np.int64)


def load_data(graph: Graph, path: str) -> tuple[np.ndarray, np.ndarray]:
    """The training arrays of an .npz file, checked against ``graph``."""
    try:
        with np.load(Path(path)) as data:
            if "spikes" not in data or "labels" not in data:
                raise NeuroccError(path, f"holds {sorted(data)}; expected 'spikes' and "
                                   "'labels'.", "Save it with np.savez(path, spikes=..., "
                                   "labels=...).")
            return check_data(graph, data["spikes"], data["labels"], path)
    except (OSError, ValueError) as exc:
        raise NeuroccError(path, f"cannot be read as an .npz file ({exc}).",
                           f"Give data=FILE.npz to pass '{NAME}'.") from exc


@contextlib.contextmanager
def deterministic_torch(seed: int) -> Iterator[Any]:
    """Seeded, deterministic, single-threaded PyTorch; the global settings restored after."""
    import torch

    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield torch.Generator().manual_seed(seed)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(strict)


def learn_delays(graph: Graph, spikes: Any, labels: Any, **options: Any) -> Graph:
    """Python entry point: run ``delays.learn`` on arrays; the graph with its history record."""
    chosen = build_options(LearnOptions, options, f"pass '{NAME}'")
    result, effect = train(graph, *check_data(graph, spikes, labels, "learn_delays"), chosen)
    return result.with_record(NAME, options=options_record(chosen), effect=effect, provides=[])


@register_pass(NAME, LearnOptions, "learn per-synapse delays with the weights of a "
               "feed-forward chain (DCLS), on data=FILE.npz")
def learn_pass(graph: Graph, options: LearnOptions) -> tuple[Graph, dict[str, Any]]:
    if options.data is None:
        raise _error("option 'data'", "is not given.", "Give data=train.npz with arrays "
                     "'spikes' (batch, T, n_in) and 'labels' (batch,).")
    return train(graph, *load_data(graph, options.data), options)


def train(graph: Graph, spikes: np.ndarray, labels: np.ndarray, options: LearnOptions
          ) -> tuple[Graph, dict[str, Any]]:
    """The trained graph and the effect record (see the module docstring)."""
    from neurocc.compiler.passes.delays import training

    layers = chain(graph)
    _check_readout(graph, options)
    _check_counts(options)
    max_delay = _max_delay(options)
    with deterministic_torch(options.seed) as generator:
        net = training.build(graph, layers, options, max_delay, generator)
        history = training.fit(net, spikes, labels, options, max_delay, generator)
        accuracy = training.accuracy(net, spikes, labels, options.readout)
    projections = dict(graph.projections)
    effect: dict[str, Any] = {"max_delay_steps": max_delay, "train_accuracy": accuracy,
                              "loss_per_epoch": history, "projections": {}}
    for layer, module in zip(layers, net.synapses, strict=True):
        proj = layer.projection
        delays = module.rounded().numpy().astype(np.int64)
        projections[proj.name] = Projection(proj.name, proj.source, proj.target,
                                            module.weight.detach().numpy().copy(), delays,
                                            proj.metadata, proj.receptor)
        effect["projections"][proj.name] = {
            "delay_mean_steps": float(delays.mean()), "delay_max_steps": int(delays.max()),
            "rounding_error_mean_steps": float(module.rounding_error)}
    return graph.replace(projections=projections), effect
