"""The EGRU in PyTorch, for training: the equations of the graph's ``egru`` model.

Only this module imports torch; ``neurocc.frontends.egru`` never imports it, so the
frontend reads arrays and state dicts without torch installed. The forward pass is the
reference engine's step, term for term and in the same order of additions (input
projections, then recurrent ones, then biases), so a float64 run of :class:`Egru` and the
engine on the graph of ``Egru.to_weights()`` agree to rounding (matrix products may sum in
another order).

The event's gradient is EvNN's surrogate: ``dampening * max(0, 1 - support * |c - theta|)``
for ``d e / d c`` (and its negative for the threshold).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from neurocc.frontends.egru.weights import EgruWeights

DAMPENING = 0.7  # EvNN's defaults for the surrogate gradient
SUPPORT = 1.0
THRESHOLD_MEAN = 0.3  # thresholds start Beta-distributed with this mean, as in EvNN
THRESHOLD_BETA = 3.0
N_GATES = 3


class _Event(torch.autograd.Function):
    """Forward ``H(c - theta)`` (strict: 0 at equality); backward the triangular surrogate."""

    @staticmethod
    def forward(ctx: Any, distance: torch.Tensor, dampening: float, support: float
                ) -> torch.Tensor:
        ctx.save_for_backward(distance)
        ctx.dampening, ctx.support = dampening, support
        return (distance > 0).to(distance.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (distance,) = ctx.saved_tensors
        slope = ctx.dampening * torch.clamp(1.0 - ctx.support * distance.abs(), min=0.0)
        return grad * slope, None, None


class EgruRun(NamedTuple):
    """One forward pass, each ``(batch, T, size)``."""

    c: torch.Tensor  # the cell after the step's reset (the engine's ``c/<egru>``)
    events: torch.Tensor  # 0/1
    y: torch.Tensor  # the events' values
    readout: torch.Tensor | None  # running sum of ``W_o y_t + b_o`` (the readout's ``v``)


class Egru(nn.Module):
    """One EGRU layer with an optional linear readout (``n_outputs > 0``).

    Parameters (the ``neurocc`` state-dict layout): ``weight_input`` (3H, C) and
    ``weight_recurrent`` (3H, H) stacking update, reset, candidate; ``bias`` (3H);
    ``bias_candidate_recurrent`` (H); ``c_threshold`` (H); ``readout`` (an ``nn.Linear``).
    Initialised from torch's global generator (seed it first): weights and biases uniform
    in ``±1/sqrt(H)`` (``torch.nn.GRU``'s rule), thresholds from EvNN's Beta distribution.
    """

    def __init__(self, n_inputs: int, n_units: int, n_outputs: int = 0, *,
                 dampening: float = DAMPENING, support: float = SUPPORT,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.dampening, self.support = dampening, support
        bound = n_units ** -0.5

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape, dtype=dtype).uniform_(-bound, bound))

        self.weight_input = uniform(N_GATES * n_units, n_inputs)
        self.weight_recurrent = uniform(N_GATES * n_units, n_units)
        self.bias = uniform(N_GATES * n_units)
        self.bias_candidate_recurrent = uniform(n_units)
        alpha = THRESHOLD_BETA * THRESHOLD_MEAN / (1.0 - THRESHOLD_MEAN)
        beta = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(THRESHOLD_BETA))
        self.c_threshold = nn.Parameter(beta.sample((n_units,)).to(dtype))
        self.readout = nn.Linear(n_units, n_outputs, dtype=dtype) if n_outputs else None

    def forward(self, x: torch.Tensor) -> EgruRun:
        """Run input spikes ``x`` (batch, T, C) from a zero state."""
        drive = x.to(self.weight_input.dtype) @ self.weight_input.T  # (batch, T, 3H)
        y = c = torch.zeros(x.shape[0], self.c_threshold.shape[0], dtype=drive.dtype)
        trace: dict[str, list[torch.Tensor]] = {"c": [], "events": [], "y": []}
        for t in range(x.shape[1]):
            c, events, y = self.step(drive[:, t], y, c)
            for key, value in (("c", c), ("events", events), ("y", y)):
                trace[key].append(value)
        c_all, events_all, y_all = (torch.stack(trace[k], dim=1) for k in ("c", "events", "y"))
        readout = None if self.readout is None else torch.cumsum(self.readout(y_all), dim=1)
        return EgruRun(c_all, events_all, y_all, readout)

    def step(self, drive: torch.Tensor, y: torch.Tensor, c: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step from the input drive ``W x`` (batch, 3H) and the previous ``y``, ``c``:
        the new (reset) ``c``, the events and their values."""
        in_u, in_r, in_z = drive.chunk(N_GATES, dim=1)
        rec_u, rec_r, rec_z = (y @ self.weight_recurrent.T).chunk(N_GATES, dim=1)
        b_u, b_r, b_z = self.bias.chunk(N_GATES)
        u = torch.sigmoid(in_u + rec_u + b_u)
        r = torch.sigmoid(in_r + rec_r + b_r)
        z = torch.tanh(in_z + b_z + r * (rec_z + self.bias_candidate_recurrent))
        c = u * z + (1.0 - u) * c
        events = _Event.apply(c - self.c_threshold, self.dampening, self.support)
        return c - events * self.c_threshold, events, events * c

    def clamp_thresholds_(self, low: float = 0.0, high: float = 1.0) -> None:
        """Keep thresholds in [low, high] (EvNN clamps to [0, 1] before every pass)."""
        with torch.no_grad():
            self.c_threshold.clamp_(low, high)

    def to_weights(self) -> EgruWeights:
        """The parameters as :class:`EgruWeights` (float64 copies)."""
        return EgruWeights.from_state_dict(self.state_dict())
