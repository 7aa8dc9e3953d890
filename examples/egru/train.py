"""Train the shipped EGRU on scikit-learn's digits, read row by row, and save its weights.

An EGRU layer of ``N_UNITS`` units reads an 8×8 digit one row per step (thermometer-coded
spikes, ``encoding.py``); a linear readout sums its logits over the 8 steps. Training is
backpropagation through time with EvNN's surrogate gradient for the event (the torch module
``neurocc.frontends.egru.torch_model.Egru``: the same equations as the graph's ``egru``
model). Thresholds are trained and clamped to [0, 1] after every step, as EvNN does; a small
cost on the event rate trades a little accuracy for activity sparsity.

After training, the float32 weights are checked in the reference engine (float64): its
events must equal those of the torch model re-run in float64 on the whole test set, or
nothing is written. Then ``egru_digits.npz`` gets the weights and, as metadata, the
settings and the engine's test accuracy and event sparsity.

Run from the repository root: ``.venv/bin/python examples/egru/train.py`` (``--out-dir``
writes elsewhere). Seeded torch, one thread, deterministic algorithms: the same file, byte
for byte, every run on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from egru_encoding import LEVELS, N_INPUTS, N_STEPS, encode_rows, load_split

from neurocc.frontends.egru import EgruWeights, load_egru
from neurocc.frontends.egru.torch_model import Egru
from neurocc.sim.reference import run_graph

HERE = Path(__file__).resolve().parent
WEIGHTS_NAME = "egru_digits.npz"

SPLIT_SEED = 0  # the stratified train/test split (the digits example uses the same)
TORCH_SEED = 0
N_UNITS = 64
N_CLASSES = 10
N_EPOCHS = 40
# Weight of the mean event rate in the loss: fewer events for a little accuracy (0.1 gives
# about 21 % events at 97 % here, 0 about 27 % at 96 %, 0.2 about 19 % at 96 %).
ACTIVITY_COST = 0.1
BATCH_SIZE = 32
LEARNING_RATE = 1e-2  # Adam, annealed to 0 over the epochs (cosine)
MIN_MARGIN = 1e-9  # no test cell may come closer than this to its threshold (float64 check)


def train(model: Egru, x: torch.Tensor, labels: torch.Tensor) -> None:
    """Adam on the cross-entropy of the summed logits (the readout at the last step) plus
    ``ACTIVITY_COST`` times the mean event rate (its gradient flows through the surrogate)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, N_EPOCHS)
    generator = torch.Generator().manual_seed(TORCH_SEED)
    for epoch in range(N_EPOCHS):
        order = torch.randperm(len(labels), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            run = model(x[batch])
            loss = nn.functional.cross_entropy(run.readout[:, -1], labels[batch])
            loss = loss + ACTIVITY_COST * run.events.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.clamp_thresholds_()
            total += loss.item() * len(batch)
        schedule.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}/{N_EPOCHS}: loss {total / len(labels):.4f}")


def torch_accuracy(model: Egru, x: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).readout[:, -1].numpy()
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def engine_run(weights: EgruWeights, x: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy and event sparsity of the reference engine on the encoded samples."""
    result = run_graph(load_egru(weights), x)
    logits = result.states["v/readout"][:, -1]
    units_steps = weights.n_units * x.shape[1] * x.shape[0]
    return {"accuracy": float(np.mean(np.argmax(logits, axis=1) == labels)),
            "event_rate": result.counters["spikes"] / units_steps,
            "events": int(result.counters["spikes"]), "synops": int(result.counters["synops"])}


def check_against_torch64(weights: EgruWeights, x: np.ndarray) -> None:
    """Refuse to ship weights whose float64 torch run and engine run differ in any event."""
    model = Egru(N_INPUTS, N_UNITS, N_CLASSES, dtype=torch.float64)
    model.load_state_dict({k: v.double() for k, v in weights_state(weights).items()})
    with torch.no_grad():
        run = model(torch.from_numpy(x))
    result = run_graph(load_egru(weights), x, record_states=True)
    c_pre = run.c.numpy() + run.events.numpy() * weights.c_threshold
    margin = float(np.min(np.abs(c_pre - weights.c_threshold)))
    if not np.array_equal(result.spikes["egru"], run.events.numpy()) or margin < MIN_MARGIN:
        sys.exit(f"engine and torch float64 disagree (closest cell to threshold: {margin:g})")
    print(f"engine == torch float64 on every event; closest cell to threshold {margin:.2e}")


def weights_state(weights: EgruWeights) -> dict[str, torch.Tensor]:
    """EgruWeights back into Egru's state-dict layout (the inverse of from_state_dict)."""
    gates = ("update", "reset", "candidate")

    def stack(prefix: str) -> torch.Tensor:
        return torch.tensor(np.concatenate([getattr(weights, f"{prefix}_{g}") for g in gates]))

    return {"weight_input": stack("input"), "weight_recurrent": stack("recurrent"),
            "bias": stack("bias"),
            "bias_candidate_recurrent": torch.tensor(weights.bias_candidate_recurrent),
            "c_threshold": torch.tensor(weights.c_threshold),
            "readout.weight": torch.tensor(weights.readout_weight),
            "readout.bias": torch.tensor(weights.readout_bias)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args()
    torch.manual_seed(TORCH_SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, y_train, x_test, y_test = load_split(SPLIT_SEED)
    s_train, s_test = encode_rows(x_train), encode_rows(x_test)
    model = Egru(N_INPUTS, N_UNITS, N_CLASSES)
    start_s = time.perf_counter()
    train(model, torch.from_numpy(s_train), torch.from_numpy(y_train))
    train_s = time.perf_counter() - start_s
    weights = model.to_weights()  # float32 values, exact in float64
    check_against_torch64(weights, s_test)
    measured = engine_run(weights, s_test, y_test)
    float32_accuracy = torch_accuracy(model, s_test, y_test)
    print(f"trained in {train_s:.1f} s; test accuracy: torch float32 {float32_accuracy:.4f}, "
          f"engine {measured['accuracy']:.4f}; events per unit and step "
          f"{measured['event_rate']:.4f}")
    metadata = {"split_seed": SPLIT_SEED, "torch_seed": TORCH_SEED, "levels": list(LEVELS),
                "n_steps": N_STEPS, "n_units": N_UNITS, "epochs": N_EPOCHS,
                "activity_cost": ACTIVITY_COST, "learning_rate": LEARNING_RATE,
                "batch_size": BATCH_SIZE,
                "test_accuracy": measured["accuracy"], "test_event_rate": measured["event_rate"],
                "test_events": measured["events"], "test_synops": measured["synops"],
                "torch_float32_test_accuracy": float32_accuracy}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    weights.save(args.out_dir / WEIGHTS_NAME, metadata)
    print(f"wrote {args.out_dir / WEIGHTS_NAME}")


if __name__ == "__main__":
    main()
