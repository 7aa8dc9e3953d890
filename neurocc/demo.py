"""The main job: compile the shipped example for each target, simulate, compare.

Prints, per target, the test-set accuracy of its exact engine next to the
float reference, spikes per inference, cores used and energy per inference;
writes the artifacts, ``demo.json`` and the side-by-side report of every target
(``report/report.html`` and ``report.json``, see ``docs/reports.md``) to the
output directory, and prints the report's path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import neurocc
from neurocc.compare import compare_artifacts
from neurocc.compiler.errors import NeuroccError
from neurocc.figures import all_figures
from neurocc.report_page import write_report

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "digits"
EXAMPLE_MODEL = EXAMPLE_DIR / "digits_lif.nir"
EXAMPLE_DATA = EXAMPLE_DIR / "digits_test.npz"


def _load_example() -> tuple[Any, np.ndarray, np.ndarray]:
    if not EXAMPLE_MODEL.is_file() or not EXAMPLE_DATA.is_file():
        raise NeuroccError(str(EXAMPLE_DIR), "does not hold the example model and test set.",
                           "Run the demo from a checkout of the neurocc repository.")
    with np.load(EXAMPLE_DATA) as data:
        spikes, labels = data["spikes"], data["labels"]
    return neurocc.load(EXAMPLE_MODEL), spikes, labels


def _row(target: dict[str, Any], graph: Any, n_inferences: int) -> dict[str, Any]:
    """One demo.json row from a target of the comparison record."""
    report = target["run"]
    energy = report["energy"] or {}
    return {
        "target": target["target"],
        "accuracy": target["fidelity"]["accuracy"],
        "spikes_per_inference": sum(report["spike_counts"].get(n, 0) for n in graph.populations
                                    if n not in graph.inputs) / n_inferences,
        "cores_used": report["resources"].get("cores", {}).get("used"),
        "energy_per_inference_uj": energy.get("energy_per_inference_uj"),
        "report": report,
    }


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def run_demo(out_dir: Path, targets: list[str]) -> int:
    graph, spikes, labels = _load_example()
    print(f"example: {EXAMPLE_MODEL.name}, {len(labels)} test samples x {spikes.shape[1]} steps"
          f", dt {graph.dt_s:g} s")
    dirs = [out_dir / target for target in targets]
    for target, directory in zip(targets, dirs, strict=True):
        neurocc.compile(graph, target, out=directory)
    record, runs = compare_artifacts(dirs, spikes, labels,
                                     input_name=f"examples/digits/{EXAMPLE_DATA.name}")
    rows = [_row(target, graph, len(labels)) for target in record["targets"]]
    print(f"\n{'target':<12}{'accuracy':>10}{'spikes/inf':>12}{'cores':>7}{'energy/inf':>14}")
    for row in rows:
        print(f"{row['target']:<12}{row['accuracy']:>10.2%}{row['spikes_per_inference']:>12.1f}"
              f"{_fmt(row['cores_used'], 'd'):>7}"
              f"{_fmt(row['energy_per_inference_uj'], '.3f') + ' uJ':>14}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "demo.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    print(f"\nartifacts and demo.json in {out_dir}/")
    written = write_report(record, all_figures(record, runs), out_dir / "report")
    print(f"report (every target side by side): {written / 'report.html'}")
    return 0
