"""The PyTorch side of ``delays.learn``: build the chain, train it, score it.

Kept apart from :mod:`.learn` so that PyTorch is imported only when delays are learned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.compiler.passes.delays.kernel import DelayedLinear, Neurons

LOSS_DIGITS = 6  # losses in the history record, rounded for reading


class Chain(nn.Module):
    """Delayed projections and neuron updates, alternating; ``forward`` gives the readout."""

    def __init__(self, synapses: list[DelayedLinear], neurons: list[Neurons], readout: str
                 ) -> None:
        super().__init__()
        self.registered = nn.ModuleList(synapses)  # so PyTorch sees the parameters
        self.synapses = list(synapses)  # the same modules, typed
        self.neurons = neurons
        self.readout = readout

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        x, v = spikes, spikes
        for synapse, neurons in zip(self.synapses, self.neurons, strict=True):
            x, v = neurons(synapse(x))
        if self.readout == "count":
            return x.sum(1)
        return v.amax(1) if self.readout == "max" else v.mean(1)

    def set_sigma(self, sigma: float) -> None:
        for synapse in self.synapses:
            synapse.sigma = sigma


def build(graph: Graph, layers: list[Any], options: Any, max_delay: int,
          generator: torch.Generator) -> Chain:
    """The chain with the graph's weights and the initial delays ``options.init_delays``."""
    synapses, neurons = [], []
    for layer in layers:
        proj, pop = layer.projection, graph.populations[layer.population]
        weight = proj.dense_weight()
        if options.init_delays == "graph":
            delay = np.broadcast_to(proj.delay_steps, weight.shape).astype(np.float64)
            if delay.size and delay.max() > max_delay:
                raise NeuroccError(f"pass 'delays.learn': projection '{proj.name}'",
                                   f"has delays up to {int(delay.max())} steps, above "
                                   f"max_delay_steps = {max_delay}.",
                                   "Raise max_delay_steps or use init_delays=uniform.")
        else:
            delay = (torch.rand(weight.shape, generator=generator, dtype=torch.float64)
                     * max_delay).numpy()
        synapse = DelayedLinear(weight, delay, max_delay, options.train_delays)
        # Fixed delays are integer steps from the start (no Gaussian blur while the weights
        # train): the network trained is the one the graph will hold.
        synapse.hard = not options.train_delays
        synapses.append(synapse)
        neurons.append(Neurons(pop.model, pop.reset, pop.params, graph.dt_s))
    return Chain(synapses, neurons, options.readout)


def _epoch(net: Chain, optimizer: torch.optim.Optimizer, spikes: torch.Tensor,
           labels: torch.Tensor, batch_size: int, generator: torch.Generator) -> float:
    order = torch.randperm(len(labels), generator=generator)
    total = 0.0
    for start in range(0, len(labels), batch_size):
        batch = order[start:start + batch_size]
        loss = nn.functional.cross_entropy(net(spikes[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for synapse in net.synapses:
            synapse.clamp_()
        total += float(loss.detach()) * len(batch)
    return round(total / max(len(labels), 1), LOSS_DIGITS)


def fit(net: Chain, spikes: np.ndarray, labels: np.ndarray, options: Any, max_delay: int,
        generator: torch.Generator) -> list[float]:
    """Anneal sigma over ``epochs`` (geometric), round, fine-tune weights; loss per epoch."""
    x, y = torch.from_numpy(spikes), torch.from_numpy(labels)
    weights = [s.weight for s in net.synapses]
    delays = [s.delay for s in net.synapses]
    groups = [{"params": weights, "lr": options.lr}]
    if options.train_delays:
        groups.append({"params": delays, "lr": options.lr_delays})
    optimizer = torch.optim.Adam(groups)
    start = options.sigma_start_steps or max(max_delay / 4, options.sigma_end_steps)
    ratio = options.sigma_end_steps / start
    history = []
    total = options.epochs + options.finetune_epochs
    with tqdm(total=total, desc="delays.learn", unit="epoch", disable=None, leave=False) as bar:
        for epoch in range(options.epochs):
            net.set_sigma(start * ratio ** (epoch / max(options.epochs - 1, 1)))
            history.append(_epoch(net, optimizer, x, y, options.batch_size, generator))
            bar.update()
        for synapse in net.synapses:
            if not synapse.hard:  # fixed delays were never anything but integers
                synapse.rounding_error = float((synapse.delay.detach()
                                                - synapse.rounded()).abs().mean())
            synapse.hard = True
            synapse.delay.requires_grad_(False)
        optimizer = torch.optim.Adam(weights, lr=options.lr)
        for _ in range(options.finetune_epochs):
            history.append(_epoch(net, optimizer, x, y, options.batch_size, generator))
            bar.update()
    return history


def accuracy(net: Chain, spikes: np.ndarray, labels: np.ndarray, readout: str) -> float:
    """Share of samples whose highest score is their label (hard delays)."""
    with torch.no_grad():
        scores = net(torch.from_numpy(spikes))
    return float((scores.argmax(1).numpy() == labels).mean())
