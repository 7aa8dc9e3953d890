"""Delay passes, measured: the motif task with zero / fixed random / learned delays, the
known-delay task's recovery error, and what legalization to a short maximum costs.

    python benchmarks/passes_delays.py [--target loihi2] [--epochs 30] [--seeds 5]
                                       [--json PATH]

1. **Motif task** (``examples/delays``): test accuracy of one network trained three
   ways by ``delays.learn`` and compiled for ``--target`` with ``delays.legalize``,
   in the float reference engine and the target's exact engine.
2. **Known delays**: the coincidence detector of ``examples/delays/motifs.py``
   trained from random delays with ``--seeds`` seeds; recovery error = the largest
   distance of ``d_i + offset_i`` from its median (0: the delays align the motif).
3. **Legalization**: the learned motif network fitted to ``--legal-max`` steps with
   relay chains: relay neurons added, and whether every spike on the test set equals
   the unlegalized graph's in the reference engine.

Runtimes: wall-clock seconds (``*_s``) and this process's CPU seconds (``cpu_s``) on
this machine, which is shared: compare within one run.
Results go to ``results/passes_delays.json`` and print as tables.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "delays"
sys.path.insert(0, str(EXAMPLE_DIR))

import motifs  # noqa: E402
import run as motif_example  # noqa: E402

from neurocc.compiler.passes import run_pass  # noqa: E402
from neurocc.compiler.passes.delays.learn import learn_delays  # noqa: E402
from neurocc.sim.reference import run_graph  # noqa: E402

DEFAULT_JSON = Path(__file__).parent / "results" / "passes_delays.json"


def known_delays(seeds: int, epochs: int = 20) -> list[dict[str, Any]]:
    spikes, labels = motifs.known_delay_task(64, seed=0)
    rows = []
    for seed in range(seeds):
        start, cpu = time.perf_counter(), time.process_time()
        graph = learn_delays(motifs.detector(), spikes, labels, max_delay_steps=12,
                             epochs=epochs, finetune_epochs=1, batch_size=16, seed=seed)
        delays = graph.projections["w"].delay_steps[1]
        rows.append({"seed": seed, "delays": delays.tolist(),
                     "recovery_error_steps": motifs.recovery_error_steps(delays),
                     "train_accuracy": graph.history[-1].details["effect"]["train_accuracy"],
                     "learn_s": time.perf_counter() - start,
                     "cpu_s": time.process_time() - cpu})
    return rows


def legalization(out_dir: Path, epochs: int, limit: int) -> dict[str, Any]:
    """Learn on the motif task, legalize to ``limit`` steps, compare spikes on the test set."""
    task = motifs.MotifTask(n_classes=6)
    with np.load(out_dir / "train.npz") as train, np.load(out_dir / "test.npz") as test:
        learned = learn_delays(motif_example.network(task), train["spikes"], train["labels"],
                               max_delay_steps=motif_example.MAX_DELAY_STEPS, epochs=epochs)
        spikes = test["spikes"]
    start = time.perf_counter()
    legal = run_pass(learned, "delays.legalize", {"max_delay_steps": limit})
    legalize_s = time.perf_counter() - start
    before, after = run_graph(learned, spikes), run_graph(legal, spikes)
    effect = legal.history[-1].details["effect"]
    return {"max_delay_steps": limit, "synapses_over_limit": effect["over_limit"],
            "relay_neurons": effect["relay_neurons"],
            "neurons_before": sum(p.size for p in learned.populations.values()),
            "timing_error_max_steps": effect["timing_error_max_steps"],
            "spikes_identical": all(np.array_equal(spikes_, after.spikes[n])
                                    for n, spikes_ in before.spikes.items()),
            "output_v_identical": bool(np.array_equal(before.output, after.output)),
            "legalize_s": legalize_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="loihi2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--legal-max", type=int, default=7,
                        help="maximum for the legalization case (7: loihi1's always-available "
                        "delays)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    out_dir = Path(tempfile.mkdtemp(prefix="neurocc-delays-bench-"))
    motif_rows = motif_example.run(args.target, out_dir, epochs=args.epochs)
    print(f"## Motif task (6 classes, 8 channels, 256 train / 512 test), target {args.target}")
    print(motif_example.table(motif_rows))
    known = known_delays(args.seeds)
    print("\n## Known delays (coincidence detector, max 12 steps)\n")
    print("| seed | learned delays | recovery error (steps) | train acc | s |\n"
          "|---|---|---|---|---|")
    for r in known:
        print(f"| {r['seed']} | {r['delays']} | {r['recovery_error_steps']} | "
              f"{r['train_accuracy']:.1%} | {r['learn_s']:.1f} |")
    legal = legalization(out_dir, args.epochs, args.legal_max)
    print(f"\n## Legalization of the learned motif network to {args.legal_max} steps\n")
    print("| synapses over limit | relay neurons | neurons before | timing error | spikes "
          "identical | s |\n|---|---|---|---|---|---|")
    print(f"| {legal['synapses_over_limit']} | {legal['relay_neurons']} | "
          f"{legal['neurons_before']} | {legal['timing_error_max_steps']:g} | "
          f"{legal['spikes_identical'] and legal['output_v_identical']} | "
          f"{legal['legalize_s']:.2f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "settings": vars(args) | {"json": str(args.json)}, "motif_task": motif_rows,
        "known_delays": known, "legalization": legal}, indent=2, sort_keys=True) + "\n")
    print(f"\nsaved {args.json}")


if __name__ == "__main__":
    main()
