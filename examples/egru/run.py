"""Run the shipped EGRU in neurocc's reference engine on the digits test split.

Loads ``egru_digits.npz`` through the EGRU frontend, encodes the test split (the split and
code stored in the file's metadata), runs the float reference engine and prints the
accuracy and the activity sparsity, both counted by the engine: the class is the argmax of
the readout at the last step, and the event rate is the engine's ``spikes`` counter (one
per event of an EGRU unit) over units x steps x samples.

Run from the repository root: ``.venv/bin/python examples/egru/run.py [--weights FILE]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from egru_encoding import LEVELS, encode_rows, load_split

from neurocc.frontends.egru import EgruWeights, load_egru
from neurocc.sim.reference import run_graph
from neurocc.sim.result import SimResult

HERE = Path(__file__).resolve().parent
WEIGHTS_PATH = HERE / "egru_digits.npz"


def test_split(metadata: dict) -> tuple[np.ndarray, np.ndarray]:
    """The encoded test spikes (n, 8, 32) and labels the weights were evaluated on."""
    if list(metadata["levels"]) != list(LEVELS):
        sys.exit(f"the weights were trained on levels {metadata['levels']}, not {LEVELS}")
    _, _, x_test, y_test = load_split(int(metadata["split_seed"]))
    return encode_rows(x_test), y_test


def summary(result: SimResult, labels: np.ndarray, n_units: int) -> dict[str, float]:
    """Accuracy, events per unit and step, and synaptic events per sample."""
    batch, n_steps = result.states["v/readout"].shape[:2]
    predicted = np.argmax(result.states["v/readout"][:, -1], axis=1)
    return {"accuracy": float(np.mean(predicted == labels)),
            "event_rate": result.counters["spikes"] / (n_units * n_steps * batch),
            "synops_per_sample": result.counters["synops"] / batch}


def dense_synops_per_sample(weights: EgruWeights, n_steps: int) -> int:
    """What a clock-driven GRU of the same size does: every synapse, every step."""
    return sum(int(np.count_nonzero(a)) for name, a in weights.arrays().items()
               if name.startswith(("input_", "recurrent_", "readout_weight"))) * n_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args()
    weights, metadata = EgruWeights.load(args.weights)
    spikes, labels = test_split(metadata)
    result = run_graph(load_egru(args.weights), spikes)
    found = summary(result, labels, weights.n_units)
    print(f"{len(labels)} test digits, {weights.n_units} EGRU units, {spikes.shape[1]} steps")
    print(f"accuracy            {found['accuracy']:.4f} "
          f"({round(found['accuracy'] * len(labels))}/{len(labels)})")
    print(f"events/unit/step    {found['event_rate']:.4f} "
          f"(activity sparsity {1 - found['event_rate']:.4f})")
    print(f"synops per sample   {found['synops_per_sample']:.0f} "
          f"(dense GRU: {dense_synops_per_sample(weights, spikes.shape[1])})")


if __name__ == "__main__":
    main()
