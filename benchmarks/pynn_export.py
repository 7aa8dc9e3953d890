"""The digits example's PyNN export under pyNN.brian2 against the exact engine and the float
reference, and sPyNNaker's own mapping of it on a virtual board (``docs/spinnaker.md``).

    python benchmarks/pynn_export.py [--samples 100] [--target spinnaker2]

Prints accuracy, per-neuron spike-count correlations (per sample and neuron, over the
hidden and output layers), the share of identical spike entries, and wall times; saves them
to ``benchmarks/results/pynn_export.json``. The sPyNNaker columns need ``make spynnaker``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import neurocc
from neurocc.backends.spinnaker.pynn_export import write_pynn_script
from neurocc.backends.spinnaker.spynnaker_mapping import spynnaker_available, spynnaker_mapping
from neurocc.demo import EXAMPLE_DATA, EXAMPLE_MODEL, accuracy

RESULTS = Path(__file__).resolve().parent / "results" / "pynn_export.json"
LAYERS = ("lif1", "lif2")


def count_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.sum(axis=1).ravel(), b.sum(axis=1).ravel())[0, 1])


def run_brian2(artifact: Any, spikes: np.ndarray, folder: Path) -> tuple[dict[str, Any], float]:
    script = write_pynn_script(artifact, folder / "net.py")
    np.savez(folder / "IN.npz", spikes=spikes)
    start = time.perf_counter()
    subprocess.run([sys.executable, str(script), "--input", str(folder / "IN.npz"), "-o",
                    str(folder / "OUT.npz"), "--simulator", "brian2"], check=True,
                   capture_output=True)
    wall = time.perf_counter() - start
    with np.load(folder / "OUT.npz") as out:
        return {key: out[key] for key in out.files}, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--target", default="spinnaker2")
    args = parser.parse_args()
    with np.load(EXAMPLE_DATA) as data:
        spikes, labels = data["spikes"][:args.samples], data["labels"][:args.samples]
    graph = neurocc.load(EXAMPLE_MODEL)
    artifact = neurocc.compile(graph, args.target)
    start = time.perf_counter()
    exact = neurocc.simulate(artifact, spikes, engine="exact")
    exact_s = time.perf_counter() - start
    reference = neurocc.simulate(graph, spikes)
    with tempfile.TemporaryDirectory() as tmp:
        pynn, brian2_s = run_brian2(artifact, spikes, Path(tmp))
    result: dict[str, Any] = {
        "samples": len(labels), "target": args.target,
        "accuracy": {"reference": accuracy(reference.output, labels),
                     "exact": accuracy(exact.output, labels),
                     "pynn_brian2": accuracy(pynn["spikes"], labels)},
        "layers": {name: {
            "spikes": {"reference": int(reference.spikes[name].sum()),
                       "exact": int(exact.spikes[name].sum()),
                       "pynn_brian2": int(pynn[f"spikes/{name}"].sum())},
            "corr_brian2_reference": count_corr(pynn[f"spikes/{name}"], reference.spikes[name]),
            "corr_brian2_exact": count_corr(pynn[f"spikes/{name}"], exact.spikes[name]),
            "corr_exact_reference": count_corr(exact.spikes[name], reference.spikes[name]),
            "identical_brian2_exact": float((pynn[f"spikes/{name}"]
                                             == exact.spikes[name]).mean())}
            for name in LAYERS},
        "wall_s": {"exact_engine": exact_s, "pynn_brian2_script": brian2_s}}
    if spynnaker_available():
        found = spynnaker_mapping(artifact, spikes)
        result["spynnaker"] = {k: v for k, v in found.items() if k != "detail"}
        result["neurocc_mapping"] = {
            "cores": len(artifact.layout["cores"]),
            "routing_entries_max": artifact.layout["resources"]["routing_entries_per_chip"]
            ["used"]}
    print(f"digits, {result['samples']} samples, target {args.target}")
    print("accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in result["accuracy"].items()))
    for name, row in result["layers"].items():
        print(f"{name}: spikes {row['spikes']}, corr brian2-ref "
              f"{row['corr_brian2_reference']:.4f}, brian2-exact {row['corr_brian2_exact']:.4f}, "
              f"exact-ref {row['corr_exact_reference']:.4f}, identical brian2-exact "
              f"{row['identical_brian2_exact']:.5f}")
    print("wall: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["wall_s"].items()))
    if "spynnaker" in result:
        print(f"sPyNNaker (virtual board): {result['spynnaker']}")
        print(f"neurocc: {result['neurocc_mapping']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
