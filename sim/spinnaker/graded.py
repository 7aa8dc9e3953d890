"""Cores with graded events: the EGRU and integrator ticks and the payload delivery.

The arithmetic is ``backends/spinnaker/graded.py``'s (its docstring has the equations): 32-bit
s16.15 input words per (delay slot, receptor, neuron), each synapse adding
``mul(w, payload) >> (15 - r)`` with the run's rounding; the gates from the sigmoid table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurocc.compiler.neurons import (
    EGRU_CANDIDATE,
    EGRU_CANDIDATE_RECURRENT,
    EGRU_RECEPTORS,
    EGRU_RESET,
    EGRU_UPDATE,
)
from neurocc.sim.spinnaker.synapses import Block, deliver_products, no_draws

# receptor index = the model's receptor order (the synapse "type" compile stores)
UPDATE, RESET, CANDIDATE, RECURRENT = (EGRU_RECEPTORS.index(r) for r in (
    EGRU_UPDATE, EGRU_RESET, EGRU_CANDIDATE, EGRU_CANDIDATE_RECURRENT))

DRAW_CHUNK = 1 << 20  # random words drawn at once by stochastic graded delivery

if TYPE_CHECKING:
    from neurocc.sim.spinnaker.engine import Arithmetic


@dataclass
class GradedNeurons:
    """One egru or integrator population: parameters, state (c or v), input words."""

    name: str
    kind: str  # "egru" or "integrator"
    params: Mapping[str, np.ndarray]
    shifts: np.ndarray  # (receptors,): fraction bits of the weight words, weight_bits - 1 - r
    start_tick: int  # the first tick the core updates (its latency offset)
    state: np.ndarray  # (batch, size): the cell c (egru) or v (integrator)
    ring: np.ndarray  # (slots, batch, receptors, size), s16.15 words that wrap


@dataclass(frozen=True)
class Gates:
    """The sigmoid table and its geometry (``gate_table_step_bits``, ``fraction_bits``)."""

    table: np.ndarray  # u0.32 words, sigmoid(i * 2**-step_bits)
    step_bits: int
    fraction_bits: int
    word_bits: int

    def _sigmoid_u32(self, x: np.ndarray) -> np.ndarray:
        """sigmoid(x) as u0.32 for s16.15 ``x``: interpolated on |x|, mirrored for x < 0."""
        gap = self.fraction_bits - self.step_bits
        a = np.abs(x)
        last = self.table.size - 1
        index = np.minimum(a >> gap, last)
        frac = np.where(index < last, a & ((1 << gap) - 1), 0)
        low = self.table[index]
        high = self.table[np.minimum(index + 1, last)]
        s = low + (((high - low) * frac) >> gap)
        return np.where(x < 0, (1 << self.word_bits) - s, s)

    def _to_s1615(self, u32: np.ndarray) -> np.ndarray:
        shift = self.word_bits - self.fraction_bits
        return (u32 + (1 << (shift - 1))) >> shift

    def sigmoid(self, x: np.ndarray) -> np.ndarray:
        return self._to_s1615(self._sigmoid_u32(x))

    def tanh(self, x: np.ndarray) -> np.ndarray:
        """``2 sigmoid(2x) - 1``: the doubled argument is clamped to the table first."""
        top = (self.table.size - 1) << (self.fraction_bits - self.step_bits)
        s = self._sigmoid_u32(np.clip(x << 1, -top, top))
        return self._to_s1615(2 * s - (1 << self.word_bits))


def tick_egru(math: Arithmetic, gates: Gates, n: GradedNeurons, words: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """One EGRU step on this tick's input words (batch, receptors, size): (events, y)."""
    p, f = n.params, math.fraction_bits
    u = gates.sigmoid(math.wrap(words[:, UPDATE] + p["bias_update"][None]))
    r = gates.sigmoid(math.wrap(words[:, RESET] + p["bias_reset"][None]))
    recurrent = math.wrap(words[:, RECURRENT] + p["bias_candidate_recurrent"][None])
    z = gates.tanh(math.wrap(words[:, CANDIDATE] + p["bias_candidate"][None]
                             + math.multiply(r, recurrent, f)))
    c = math.wrap(n.state + math.multiply(u, math.wrap(z - n.state), f))
    fired = c > p["c_threshold"][None]
    y = np.where(fired, c, 0)
    n.state = np.where(fired, c - p["c_threshold"][None], c)
    return fired, y


def tick_integrator(math: Arithmetic, n: GradedNeurons, words: np.ndarray) -> None:
    """``v = v + I + bias`` (the gain folded into the words)."""
    n.state = math.wrap(n.state + words[:, 0] + n.params["bias"][None])


def deliver(math: Arithmetic, ring: np.ndarray, word_fraction_bits: np.ndarray,
            payload: np.ndarray, slot: int, block: Block) -> None:
    """Add ``sum over senders of mul(w, payload) >> (15 - r)`` to one slot's receptor words
    (``15 - r`` is the word's fraction bits, ``weight_bits - 1 - r``), wrapping.

    ``payload`` (batch, pre) holds s16.15 values (1.0 for a 0/1 spike); each product is
    rounded on its own, as the core processes one synapse at a time. Only the synapses of
    senders with a nonzero payload are read. Stochastic rounding draws one word per
    (batch, active sender, post) in that order, as one dense product over the block would,
    a bounded number of rows at a time."""
    active = np.flatnonzero(payload.any(axis=0))
    if not active.size:
        return
    shift = int(word_fraction_bits[block.kind])
    target = ring[slot % ring.shape[0]]
    args = (payload, active, block.indptr, block.post, block.word, target, block.kind, shift,
            math.mode, math.state_bits)
    rows = payload.shape[0] * active.size
    if math.rng is None:
        deliver_products(*args, no_draws(2), 0, rows)
        return
    n_post = target.shape[-1]
    chunk = max(1, DRAW_CHUNK // max(n_post, 1))
    for first in range(0, rows, chunk):
        count = min(chunk, rows - first)
        deliver_products(*args, math.draws((count, n_post), shift), first, count)
