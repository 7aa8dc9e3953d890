"""A sinabs model straight into neurocc: train briefly, load the module, compile, simulate.

The network is the layout sinabs documents for its chips (FlattenTime, Conv2d, IAFSqueeze,
AvgPool2d, ..., UnflattenTime), trained for a few epochs on scikit-learn's bundled 8×8 digits
(no download). neurocc lowers the module itself (no NIR file in between), the reference engine
must reproduce sinabs' forward pass spike for spike, and the loihi2 target runs it in its
bit-exact engine. Run from the repository root: ``.venv/bin/python examples/sinabs/run.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import sinabs
import sinabs.activation as sa
import sinabs.layers as sl
import torch
from torch import nn

import neurocc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits"))
from encoding import load_split, rate_encode

SPLIT_SEED = 0
TRAIN_ENCODE_SEED = 100  # epoch e draws fresh training spikes with seed 100 + e
TEST_ENCODE_SEED = 1
N_STEPS = 12  # time steps per sample
MAX_RATE = 0.5  # spike probability per step of a full-intensity pixel
N_EPOCHS = 4
BATCH_SIZE = 64
LEARNING_RATE = 1e-2
INIT_GAIN = 3.0  # scales torch's default initial weights
DT_S = 1e-3
TARGET = "loihi2"


def make_model(batch_size: int) -> nn.Sequential:
    """FlattenTime, two convolutions and a read-out, IAF neurons resetting to 0."""

    def iaf() -> sl.IAFSqueeze:
        # SingleSpike: one spike per step, as the graph and the chips; reset to 0, as Loihi.
        return sl.IAFSqueeze(batch_size=batch_size, spike_fn=sa.SingleSpike,
                             reset_fn=sa.MembraneReset())

    return nn.Sequential(
        sl.FlattenTime(),
        nn.Conv2d(1, 4, 3, padding=1, bias=False), iaf(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False), iaf(),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10, bias=False), iaf(),
        sl.UnflattenTime(batch_size=batch_size),
    )


def images(spikes: np.ndarray) -> torch.Tensor:
    """(batch, T, 64) spikes as the model's (batch, T, 1, 8, 8) input."""
    return torch.from_numpy(spikes).float().reshape(*spikes.shape[:2], 1, 8, 8)


def train(model: nn.Sequential, x_train: np.ndarray, y_train: np.ndarray) -> None:
    with torch.no_grad():  # torch's default init is too weak for IAF neurons to spike at all
        for layer in model:
            if isinstance(layer, nn.Conv2d | nn.Linear):
                layer.weight.mul_(INIT_GAIN)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    labels = torch.from_numpy(y_train)
    for epoch in range(N_EPOCHS):
        spikes = rate_encode(x_train, N_STEPS, TRAIN_ENCODE_SEED + epoch, MAX_RATE)
        order = torch.randperm(len(labels))
        for start in range(0, len(order) - BATCH_SIZE + 1, BATCH_SIZE):  # full batches only
            batch = order[start:start + BATCH_SIZE]
            sinabs.reset_states(model)
            counts = model(images(spikes[batch.numpy()])).sum(dim=1)
            loss = nn.functional.cross_entropy(counts, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}/{N_EPOCHS}: last batch loss {loss.item():.3f}")


def sinabs_run(trained: nn.Sequential, spikes: np.ndarray) -> tuple[nn.Sequential, np.ndarray]:
    """The trained weights in a float64 model for the whole test set, and its output spikes.

    float64 so that sinabs and neurocc's float reference differ by rounding only; the
    float32 spikes SingleSpike emits are cast back (exactly) between layers.
    """
    model = make_model(len(spikes)).double()
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), trained.parameters(), strict=True):
            mine.copy_(theirs)
    hooks = [m.register_forward_hook(lambda m, i, o: o.double()) for m in model.modules()]
    with torch.no_grad():
        out = model(images(spikes).double()).numpy()
    for hook in hooks:
        hook.remove()
    return model, out


def main() -> None:
    start = time.perf_counter()
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_split(SPLIT_SEED)
    trained = make_model(BATCH_SIZE)
    train(trained, x_train, y_train)
    test = rate_encode(x_test, N_STEPS, TEST_ENCODE_SEED, MAX_RATE)
    model, expected = sinabs_run(trained, test)

    # neurocc: the module itself is the model (per-step input shape (1, 8, 8)).
    graph = neurocc.load(model, input_shape=(1, 8, 8), dt_s=DT_S)
    reference = neurocc.simulate(neurocc.compile(graph, "reference"), test).output
    artifact = neurocc.compile(graph, TARGET)
    exact = neurocc.simulate(artifact, test, engine="exact", align=True).output

    agree = float(np.mean(np.all(reference == expected, axis=(1, 2))))
    layers = ", ".join(f"{p.name}: {p.model} {p.shape}" for p in graph.populations.values())
    print(f"graph populations: {layers}")
    print(f"reference engine = sinabs forward pass on {agree:.1%} of the {len(test)} test "
          f"samples (identical spike trains, every step and neuron)")
    for name, out in (("sinabs", expected), ("reference", reference), (TARGET, exact)):
        accuracy = float(np.mean(np.argmax(out.sum(axis=1), axis=1) == y_test))
        print(f"accuracy {name:>9}: {accuracy:.3f}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
