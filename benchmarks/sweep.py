"""Sweep throughput: tasks per minute run serially and on a LocalCluster, and the
scheduler's overhead per task.

The sweep is the digits model on loihi2 and spinnaker2 at several weight widths; its input
is the digits test set repeated ``--repeat`` times, so that a task (compile + exact
simulation) takes a second or more, the size the overhead goal is stated for.

    python benchmarks/sweep.py [--repeat 3] [--workers 2] [--json PATH]

``overhead per task`` = (wall time x workers - the tasks' own compile and simulate time) /
tasks, for the run after the cluster has started (cluster start-up is shown separately).
Goal (issue 18): under 5 % of the task time. Results go to ``results/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits"
DEFAULT_JSON = Path(__file__).parent / "results" / "sweep.json"
SWEEP = """kind: sweep
models: [{model}]
targets: [loihi2, spinnaker2]
pipelines: [[], [prune.magnitude:fraction=0.5]]
weight_bits: [8, 7, 6, 5, 4]
input: {data}
"""


def _write_inputs(directory: Path, repeat: int) -> Path:
    with np.load(EXAMPLE / "digits_test.npz") as data:
        spikes = np.concatenate([data["spikes"]] * repeat)
        labels = np.concatenate([data["labels"]] * repeat)
    path = directory / "inputs.npz"
    np.savez(path, spikes=spikes, labels=labels)
    return path


def _task_seconds(out: Path) -> float:
    total = 0.0
    for record in (out / "records").glob("*.json"):
        row = json.loads(record.read_text())["row"]
        total += row["compile_s"] + row["simulate_s"]
    return total


def _measure(sweep: Path, out: Path, scheduler: str, workers: int) -> dict[str, Any]:
    begin = time.perf_counter()
    summary = run_sweep(sweep, out, scheduler, progress=False, n_workers=workers)
    wall_s = summary.run_s  # from the cluster being ready to the last result
    startup_s = time.perf_counter() - begin - wall_s  # reading inputs, cluster start, table
    busy_s = _task_seconds(out)
    used = workers if scheduler != "none" else 1
    overhead_s = max(0.0, (wall_s * used - busy_s) / summary.ran)
    return {"scheduler": scheduler, "workers": used, "tasks": summary.ran,
            "startup_s": startup_s, "wall_s": wall_s, "tasks_per_min": 60 * summary.ran / wall_s,
            "mean_task_s": busy_s / summary.ran, "overhead_per_task_s": overhead_s,
            "overhead_share": overhead_s / (busy_s / summary.ran)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sweep = directory / "sweep.yaml"
        sweep.write_text(SWEEP.format(model=EXAMPLE / "digits_lif.nir",
                                      data=_write_inputs(directory, args.repeat)))
        for scheduler in ("none", "local"):
            rows.append(_measure(sweep, directory / scheduler, scheduler, args.workers))
    print(f"{'scheduler':<10}{'workers':>8}{'tasks':>7}{'start s':>9}{'wall s':>9}"
          f"{'tasks/min':>11}{'task s':>8}{'overhead/task':>15}{'share':>8}")
    for r in rows:
        print(f"{r['scheduler']:<10}{r['workers']:>8}{r['tasks']:>7}{r['startup_s']:>9.1f}"
              f"{r['wall_s']:>9.1f}{r['tasks_per_min']:>11.1f}{r['mean_task_s']:>8.2f}"
              f"{r['overhead_per_task_s']:>13.3f} s{100 * r['overhead_share']:>7.1f}%")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": platform.platform(), "repeat": args.repeat,
                                     "rows": rows}, indent=2) + "\n")
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
