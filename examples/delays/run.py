"""Delay learning on the motif task: zero, fixed random and learned delays, one command.

    .venv/bin/python examples/delays/run.py [--target loihi2] [--out-dir DIR]

Writes the task (``train.npz``, ``test.npz``, seeded, see ``motifs.py``) to
``--out-dir``, then compiles one network three times for ``--target``, each
time with ``delays.learn`` (``data=train.npz``) and ``delays.legalize``. The
maximum delay is ``--max-delay`` (30 steps: the task's motifs span 24 steps, and
a sample lasts 48, so longer delays would push spikes past its end); with
``--max-delay target`` it is the target's ``delay_max_steps`` (63 on loihi2).

- **zero**: the weights trained, every delay 0 (``train_delays=false,init_delays=graph``);
- **random**: the weights trained, delays fixed uniform random (``train_delays=false``);
- **learned**: weights and delays trained together (DCLS).

Test accuracy is measured on the compiled graph in the float reference
engine and, where the target's family has one, in its bit-exact engine. The
network: input (8) -> hidden ``lif`` (24, ``tau_s = dt``: coincidence
detectors) -> output ``li`` (one per class, ``tau_s = 5 dt``), class = the
output with the highest ``v`` over the sample.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from motifs import MotifTask

import neurocc
from neurocc.compiler.graph import Graph, Population, Projection

DT_S = 1e-3
HIDDEN = 24
MAX_DELAY_STEPS = 30
VARIANTS = {
    "zero": {"train_delays": False, "init_delays": "graph"},
    "random": {"train_delays": False},
    "learned": {},
}


def network(task: MotifTask, seed: int = 0) -> Graph:
    """The untrained network (weights normal(0, 1), delays 0)."""
    rng = np.random.default_rng(seed)
    pops = {"in": Population("in", "input", (task.n_channels,)),
            "hidden": Population("hidden", "lif", (HIDDEN,), {"tau_s": DT_S, "v_threshold": 1.0},
                                 "to_value"),
            "out": Population("out", "li", (task.n_classes,), {"tau_s": 5 * DT_S})}
    projs = {"in_hidden": Projection("in_hidden", "in", "hidden",
                                     rng.normal(0, 1, (HIDDEN, task.n_channels))),
             "hidden_out": Projection("hidden_out", "hidden", "out",
                                      rng.normal(0, 1, (task.n_classes, HIDDEN)))}
    return Graph(DT_S, pops, projs, ("in",), ("out",))


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose output with the highest v over time is their class."""
    return float(np.mean(scores.max(axis=1).argmax(axis=1) == labels))


def run_variant(graph: Graph, target: str, data: Path, test: tuple[np.ndarray, np.ndarray],
                options: dict[str, Any]) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    limit = {k: v for k, v in options.items() if k == "max_delay_steps"}
    artifact = neurocc.compile(graph, target, passes=[
        ("delays.learn", {"data": str(data), **options}), ("delays.legalize", limit)])
    train_s, train_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    history = {r.name: r.details for r in artifact.graph.history}
    spikes, labels = test
    row = {"train_accuracy": history["delays.learn"]["effect"]["train_accuracy"],
           "test_accuracy_reference": accuracy(
               neurocc.simulate(artifact, spikes, engine="reference").output, labels),
           "max_delay_steps": history["delays.learn"]["options"]["max_delay_steps"],
           "mean_delay_steps": float(np.mean([p["delay_mean_steps"] for p in history[
               "delays.learn"]["effect"]["projections"].values()])),
           "relay_neurons": history["delays.legalize"]["effect"]["relay_neurons"],
           "compile_s": train_s, "compile_cpu_s": train_cpu_s}
    try:
        exact = neurocc.simulate(artifact, spikes, engine="exact", align=True)
        row["test_accuracy_exact"] = accuracy(exact.output, labels)
    except neurocc.compiler.errors.NeuroccError as exc:  # a family without an exact engine
        row["test_accuracy_exact"] = None
        row["exact_error"] = str(exc)
    return row


def run(target: str = "loihi2", out_dir: Path | None = None, n_train: int = 256,
        n_test: int = 512, epochs: int = 30, max_delay_steps: int | None = MAX_DELAY_STEPS,
        task: MotifTask | None = None) -> dict[str, dict[str, Any]]:
    """Write the task, train the three variants, return one row per variant."""
    task = task or MotifTask(n_classes=6)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="neurocc-delays-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    train, test = task.samples(n_train, split=0), task.samples(n_test, split=1)
    np.savez(out_dir / "train.npz", spikes=train[0], labels=train[1])
    np.savez(out_dir / "test.npz", spikes=test[0], labels=test[1])
    graph = network(task)
    common: dict[str, Any] = {"epochs": epochs}
    if max_delay_steps is not None:
        common["max_delay_steps"] = max_delay_steps
    return {name: run_variant(graph, target, out_dir / "train.npz", test, {**common, **options})
            for name, options in VARIANTS.items()}


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| delays | train acc | test acc (reference) | test acc (exact) | mean delay "
             "(steps) | relay neurons | compile s (CPU s) |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        exact = "-" if r["test_accuracy_exact"] is None else f"{r['test_accuracy_exact']:.1%}"
        lines.append(f"| {name} | {r['train_accuracy']:.1%} | {r['test_accuracy_reference']:.1%}"
                     f" | {exact} | {r['mean_delay_steps']:.1f} | {r['relay_neurons']} | "
                     f"{r['compile_s']:.0f} ({r['compile_cpu_s']:.0f}) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="loihi2")
    parser.add_argument("--out-dir", type=Path, help="where train.npz/test.npz go (default: "
                        "a new temporary folder)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-delay", default=str(MAX_DELAY_STEPS),
                        help="largest delay in steps, or 'target' for the target's maximum")
    args = parser.parse_args()
    limit = None if args.max_delay == "target" else int(args.max_delay)
    rows = run(args.target, args.out_dir, epochs=args.epochs, max_delay_steps=limit)
    print(table(rows))


if __name__ == "__main__":
    main()
