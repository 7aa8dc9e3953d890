"""The main job: compile the shipped example for each target, simulate, compare.

Prints, per target, the test-set accuracy of its exact engine next to the
float reference, spikes and synaptic operations per inference, the units used
(the family's ``demo_resource``: cores, arrays) and energy per inference; writes
the artifacts and ``demo.json`` to the output directory. A family whose engine
draws device randomness (``device_seeds`` > 0) runs that many device seeds: the
accuracy is their mean, with the spread (standard deviation) beside it, and the
report is the first seed's. Last, it writes the side-by-side report of every
target it ran (``report/report.html`` and ``report.json``, ``docs/reports.md``;
each engine with its default options) and prints its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import neurocc
from neurocc.backends.family import get_family
from neurocc.compare import compare_artifacts, predict
from neurocc.compiler.errors import NeuroccError
from neurocc.figures import all_figures
from neurocc.report import simulation_report
from neurocc.report_page import write_report

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "digits"
EXAMPLE_MODEL = EXAMPLE_DIR / "digits_lif.nir"
EXAMPLE_DATA = EXAMPLE_DIR / "digits_test.npz"


def accuracy(output_spikes: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict(output_spikes) == labels))


def _load_example() -> tuple[Any, np.ndarray, np.ndarray]:
    if not EXAMPLE_MODEL.is_file() or not EXAMPLE_DATA.is_file():
        raise NeuroccError(str(EXAMPLE_DIR), "does not hold the example model and test set.",
                           "Run the demo from a checkout of the neurocc repository.")
    with np.load(EXAMPLE_DATA) as data:
        spikes, labels = data["spikes"], data["labels"]
    return neurocc.load(EXAMPLE_MODEL), spikes, labels


def _run_target(graph: Any, target: str, spikes: np.ndarray, labels: np.ndarray,
                out_dir: Path) -> dict[str, Any]:
    artifact = neurocc.compile(graph, target, out=out_dir / target)
    family = get_family(artifact.family)
    seeds: list[dict[str, Any]] = [{"seed": k} for k in range(family.device_seeds)] or [{}]
    results = [neurocc.simulate(artifact, spikes, engine="exact", align=True, progress=True,
                                **seed) for seed in seeds]
    report = simulation_report(artifact, results[0], n_inferences=len(labels))
    energy = report["energy"] or {}
    accuracies = [accuracy(result.output, labels) for result in results]
    return {
        "target": target,
        "accuracy": float(np.mean(accuracies)),
        "accuracy_spread": float(np.std(accuracies)) if family.device_seeds else None,
        "device_seeds": family.device_seeds,
        "accuracies": accuracies,
        "spikes_per_inference": sum(report["spike_counts"].get(n, 0) for n in graph.populations
                                    if n not in graph.inputs) / len(labels),
        "units": family.demo_resource,
        "units_used": report["resources"].get(family.demo_resource, {}).get("used"),
        "energy_per_inference_uj": energy.get("energy_per_inference_uj"),
        "report": report,
    }


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def run_demo(out_dir: Path, targets: list[str]) -> int:
    graph, spikes, labels = _load_example()
    print(f"example: {EXAMPLE_MODEL.name}, {len(labels)} test samples x {spikes.shape[1]} steps"
          f", dt {graph.dt_s:g} s")
    rows = [_run_target(graph, target, spikes, labels, out_dir) for target in targets]
    print(f"\n{'target':<12}{'accuracy':>10}{'spread':>8}{'spikes/inf':>12}{'used':>12}"
          f"{'energy/inf':>14}")
    for row in rows:
        used = "-" if row["units_used"] is None else f"{row['units_used']} {row['units']}"
        print(f"{row['target']:<12}{row['accuracy']:>10.2%}"
              f"{_fmt(row['accuracy_spread'], '.2%'):>8}{row['spikes_per_inference']:>12.1f}"
              f"{used:>12}{_fmt(row['energy_per_inference_uj'], '.3f') + ' uJ':>14}")
    seeded = [f"{row['target']} ({row['device_seeds']} seeds)" for row in rows
              if row['device_seeds']]
    if seeded:
        print("spread: standard deviation of the accuracy over device seeds: "
              + ", ".join(seeded))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "demo.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    print(f"\nartifacts and demo.json in {out_dir}/")
    record, runs = compare_artifacts([out_dir / target for target in targets], spikes, labels,
                                     input_name=f"examples/digits/{EXAMPLE_DATA.name}")
    written = write_report(record, all_figures(record, runs), out_dir / "report")
    print(f"report (every target side by side): {written / 'report.html'}")
    return 0
