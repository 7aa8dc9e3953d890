"""A timing task: spike motifs that differ only in the order and spacing of their spikes.

Each of ``n_classes`` classes is a motif over ``n_channels`` input channels:
every channel fires exactly once, at an offset of the class (in the spirit of
Grimaldi & Perrinet, "Learning heterogeneous delays in a layer of spiking
neurons for fast motion detection"). All classes use the same set of offsets,
assigned to the channels in a different random order, so the spike count per
channel and per step is the same for every class: only timing tells them
apart. A sample places its class's motif at a random start, moves each spike
by ``jitter_steps`` at most, and adds Poisson noise spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocc.compiler.graph import Graph, Population, Projection


@dataclass(frozen=True)
class MotifTask:
    """The task's sizes; ``seed`` fixes the motifs and the samples."""

    n_channels: int = 8
    n_classes: int = 4
    span_steps: int = 24  # motif offsets lie in 0..span_steps - 1
    steps: int = 48  # T of a sample
    jitter_steps: int = 0
    noise_rate: float = 0.01  # noise spikes per channel per step
    seed: int = 0

    def offsets(self) -> np.ndarray:
        """(n_classes, n_channels) offsets in steps: one shared set, permuted per class."""
        rng = np.random.default_rng(self.seed)
        base = np.sort(rng.choice(self.span_steps, self.n_channels, replace=False))
        return np.stack([rng.permutation(base) for _ in range(self.n_classes)])

    def samples(self, n: int, split: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` samples: spikes uint8 (n, steps, n_channels) and labels int64 (n,).

        ``split`` picks an independent stream (0 train, 1 test) with the same motifs.
        """
        offsets = self.offsets()
        rng = np.random.default_rng([self.seed, split + 1])
        labels = rng.integers(self.n_classes, size=n)
        spikes = (rng.random((n, self.steps, self.n_channels)) < self.noise_rate).astype(np.uint8)
        starts = rng.integers(self.steps - self.span_steps - self.jitter_steps, size=n)
        jitter = rng.integers(-self.jitter_steps, self.jitter_steps + 1, (n, self.n_channels))
        times = np.clip(starts[:, None] + offsets[labels] + jitter, 0, self.steps - 1)
        spikes[np.arange(n)[:, None], times, np.arange(self.n_channels)[None, :]] = 1
        return spikes, labels.astype(np.int64)


# -- a task whose right delays are known -------------------------------------------------
KNOWN_MOTIF = np.array([6, 2, 9, 0])  # channel i of the motif fires at start + KNOWN_MOTIF[i]


def known_delay_task(n: int, seed: int, steps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Class 1: the motif; class 0: its offsets shuffled over the channels (same spikes).

    A coincidence detector (``v = I``: ``li`` with ``tau_s = dt``) fed with delays
    ``d_i`` peaks on class 1 exactly when ``d_i + KNOWN_MOTIF[i]`` is one constant:
    the right delays are known up to a common shift.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(2, size=n)
    shuffled = np.stack([rng.permutation(KNOWN_MOTIF) for _ in range(n)])
    offsets = np.where(labels[:, None] == 1, KNOWN_MOTIF, shuffled)
    spikes = np.zeros((n, steps, len(KNOWN_MOTIF)), np.uint8)
    starts = rng.integers(0, steps - KNOWN_MOTIF.max(), n)
    spikes[np.arange(n)[:, None], starts[:, None] + offsets, np.arange(len(KNOWN_MOTIF))] = 1
    return spikes, labels


def recovery_error_steps(delays: np.ndarray) -> int:
    """Largest distance, in steps, of ``delays + KNOWN_MOTIF`` from its median (0: exact)."""
    arrival = np.asarray(delays) + KNOWN_MOTIF
    return int(np.abs(arrival - np.median(arrival)).max())


def detector(dt_s: float = 1e-3) -> Graph:
    """4 inputs -> 2 ``li`` neurons with ``tau_s = dt``: ``v = I``, a pure coincidence
    detector; weights 0.5, delays 0 (the untrained network of the known-delay task)."""
    pops = {"in": Population("in", "input", (len(KNOWN_MOTIF),)),
            "out": Population("out", "li", (2,), {"tau_s": dt_s})}
    proj = Projection("w", "in", "out", np.full((2, len(KNOWN_MOTIF)), 0.5))
    return Graph(dt_s, pops, {"w": proj}, ("in",), ("out",))
