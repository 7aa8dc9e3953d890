"""PyTorch modules for delay learning: a DCLS delay kernel and the neuron updates.

Delays as in DCLS (Hammouamri, Khalfaoui-Hassani, Masquelier, "Learning Delays
in SNNs using Dilated Convolutions with Learnable Spacings", ICLR 2024): each
synapse ``(j, i)`` has a weight ``w_ji`` and a real delay position ``d_ji`` in
``[0, D]`` steps. Its kernel over the delay axis ``k = 0..D`` is a normalized
Gaussian around the position::

    g_ji[k] = exp(-(k - d_ji)^2 / (2 sigma^2)) / sum_k' exp(-(k' - d_ji)^2 / (2 sigma^2))
    I_j[t]  = sum_i w_ji * sum_k g_ji[k] * s_i[t - k]            (a causal 1-D convolution)

so the loss is differentiable in ``d``. ``sigma`` is annealed towards zero
during training; then the positions are rounded and the kernel becomes one tap
at ``round(d_ji)``, which is exactly the graph's integer ``delay_steps`` (the
reference engine delivers ``s_i[t - d]``).

The neuron updates repeat the reference engine's forward Euler step
(``sim/reference``) so that a trained network behaves the same once written
back into the graph; the spike's derivative is a surrogate (SuperSpike's fast
sigmoid, Zenke & Ganguli 2018) because the Heaviside step has none.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional

# Steepness of the fast-sigmoid surrogate, per unit of (v - v_threshold) / |v_threshold|:
# 10 keeps the pseudo-derivative non-negligible over about a tenth of the threshold.
SURROGATE_SLOPE = 10.0
NORM_EPS = 1e-12  # guards the Gaussian's normalization when sigma is tiny


class SpikeFunction(torch.autograd.Function):
    """Forward: ``v > threshold`` (strict, as the engine); backward: fast sigmoid."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (1 + SURROGATE_SLOPE * x.abs()) ** 2


class DelayedLinear(nn.Module):
    """``I[b, t, j] = sum_i w_ji sum_k g_ji[k] s[b, t - k, i]`` with a learnable ``g`` (DCLS)."""

    def __init__(self, weight: np.ndarray, delay: np.ndarray, max_delay: int,
                 train_delays: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(weight, dtype=torch.float64))
        self.delay = nn.Parameter(torch.tensor(delay, dtype=torch.float64),
                                  requires_grad=train_delays)
        self.max_delay = max_delay
        self.sigma = 1.0
        self.hard = False  # True: one tap at round(d), what the graph will hold
        self.rounding_error = 0.0  # mean |d - round(d)| when the positions were rounded

    def kernel(self) -> torch.Tensor:
        """(n_out, n_in, D + 1): weight times the normalized delay profile per synapse."""
        taps = torch.arange(self.max_delay + 1, dtype=self.delay.dtype)
        if self.hard:
            profile = functional.one_hot(self.rounded().long(), self.max_delay + 1)
            return self.weight[..., None] * profile.to(self.weight.dtype)
        gauss = torch.exp(-0.5 * ((taps - self.delay[..., None]) / self.sigma) ** 2)
        return self.weight[..., None] * gauss / (gauss.sum(-1, keepdim=True) + NORM_EPS)

    def rounded(self) -> torch.Tensor:
        return torch.round(self.delay.detach()).clamp(0, self.max_delay)

    def clamp_(self) -> None:
        with torch.no_grad():
            self.delay.clamp_(0, self.max_delay)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        # conv1d correlates: out[t] = sum_k K'[k] x[t + k]; left padding by D and a flipped
        # kernel make it the causal sum over delays k of K[k] s[t - k].
        x = functional.pad(spikes.transpose(1, 2), (self.max_delay, 0))
        return functional.conv1d(x, self.kernel().flip(-1)).transpose(1, 2)


class Neurons(nn.Module):
    """One population's Euler step over time (models ``lif``, ``if``, ``li``), fixed params.

    ``lif``/``li``: ``v += dt/tau_s * (v_leak - v + r*(I + bias))``; ``if``: ``v += dt *
    r*(I + bias)``; spiking models spike where ``v > v_threshold`` and reset (``subtract``:
    ``v -= v_threshold``; ``to_value``: ``v = v_reset``; ``none``). Returns (spikes, v) over time.
    """

    def __init__(self, model: str, reset: str, params: Mapping[str, np.ndarray], dt_s: float
                 ) -> None:
        super().__init__()
        as_tensor = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
        self.model, self.reset = model, reset
        self.spiking = model != "li"
        self.r, self.bias = as_tensor["r"], as_tensor["bias"]
        if model == "if":
            self.gain, self.decay, self.leak = dt_s * self.r, torch.zeros(()), torch.zeros(())
        else:
            step = dt_s / as_tensor["tau_s"]
            self.gain, self.decay, self.leak = step * self.r, step, step * as_tensor["v_leak"]
        self.threshold = as_tensor.get("v_threshold", torch.ones(()))  # li: never used
        self.v_reset = as_tensor.get("v_reset", torch.zeros(()))

    def forward(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, size = current.shape
        v = torch.zeros(batch, size, dtype=current.dtype)
        spikes, trace = [], []
        scale = self.threshold.abs().clamp_min(NORM_EPS)
        for t in range(steps):
            v = v + self.leak - self.decay * v + self.gain * (current[:, t] + self.bias)
            if self.spiking:
                s = SpikeFunction.apply((v - self.threshold) / scale)
                fired = s.detach()  # no gradient through the reset (usual for surrogates)
                if self.reset == "subtract":
                    v = v - fired * self.threshold
                elif self.reset == "to_value":
                    v = v * (1 - fired) + fired * self.v_reset
                spikes.append(s)
            trace.append(v)
        stacked = torch.stack(trace, 1)
        return (torch.stack(spikes, 1) if spikes else stacked.new_zeros(stacked.shape)), stacked
