"""What every engine returns: spikes per population, optional states, event counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class SimResult:
    """The outcome of running an artifact or graph on a batch of inputs.

    ``spikes[name]``: uint8 (batch, T, size) per spiking population (model
    node names). ``states["v/<name>"]`` etc.: float or integer (batch, T,
    size) traces where the engine records them (always for non-spiking
    populations). ``counters``: event totals over the batch that the energy
    model prices (the shared vocabulary of ``sim/counters.py``).
    ``value_outputs``: populations whose output is their ``v`` trace although
    the engine also reports spikes for them (a chip that runs a non-spiking
    model as a spiking neuron that never reaches its threshold).
    ``latency_steps``: how many steps later than the float reference the
    outputs of this engine appear (hardware pipelines add steps per layer).
    """

    spikes: Mapping[str, np.ndarray]
    outputs: tuple[str, ...]
    states: Mapping[str, np.ndarray] = field(default_factory=dict)
    counters: Mapping[str, float] = field(default_factory=dict)
    latency_steps: int = 0
    value_outputs: tuple[str, ...] = ()

    @property
    def output(self) -> np.ndarray:
        """The output populations' spikes side by side: (batch, T, n_out).

        A non-spiking output population contributes its ``v`` trace instead.
        """
        parts = [self.spikes[n] if n in self.spikes and n not in self.value_outputs
                 else self.states[f"v/{n}"] for n in self.outputs]
        return np.concatenate(parts, axis=-1)
