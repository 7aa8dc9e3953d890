"""Pruning, calibrated quantization and reset conversion, judged on the digits example.

For every registered family's demo target (so a family added later is measured too) and the
float reference, on the 450-sample digits test set with each family's bit-exact engine:

1. accuracy against sparsity: ``prune.magnitude`` (global), ``prune.magnitude`` per
   projection, and ``prune.schedule`` (3 steps, thresholds re-calibrated on sample inputs);
2. accuracy against weight bit width, for targets with a ``weight_bits`` entry (copies
   derived with ``weight_bits`` = 8/6/4/2 and the family's native width), max-scaling
   against calibrated scaling (the family's ``weight_scaling`` option, with
   ``calibration_spikes`` where it takes them);
3. structured pruning (``prune.activity``, ``prune.neurons`` without and with threshold
   re-calibration): accuracy, neurons, synapses
   and the resource the family's demo reports (cores, or a crossbar's tiles), on the demo
   target and, where the target has ``neurons_per_core``, on a copy with 16 (the digits
   model's 100 hidden neurons fit one core of any demo target);
4. reset conversion: the digits model read with the subtract reset (sinabs' and snnTorch's
   default) against its float reference: spike-count agreement of each family's exact
   engine as the family compiles it (with its approximation option where it refuses the
   subtract reset) and after ``reset.convert``.

Sample inputs for calibration come from the training split (other digits, other encoder
seed), never from the test set.

5. delays: ``benchmarks/passes_delays.py`` (the motif task with zero, fixed random and learned
   delays; recovery of known delays; legalization), run as its own process after the above
   (``--skip-delays`` leaves it out; with ``--replot`` its saved table is printed).

    python benchmarks/passes.py [--quick] [--skip-delays] [--json PATH] [--plot PATH] [--replot]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from tqdm import tqdm

import neurocc
from neurocc.backends import derive_target, load_target
from neurocc.backends.family import FAMILIES, demo_targets, get_family
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population
from neurocc.compiler.neurons import RESET_SUBTRACT
from neurocc.compiler.options import describe_options
from neurocc.compiler.passes import run_pass
from neurocc.compiler.passes.activity import agreement
from neurocc.demo import EXAMPLE_DIR, _load_example, accuracy

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(EXAMPLE_DIR))
from encoding import load_split, rate_encode

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "passes.json"
DEFAULT_PLOT = ROOT / "docs" / "passes-benchmark.png"
CALIBRATION_SAMPLES, CALIBRATION_SEED, SPLIT_SEED = 200, 7, 0  # train split, other encoder seed
N_STEPS, MAX_RATE = 25, 0.5  # as the test set (examples/digits/README.md)
SPARSITIES = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)
BITS = (8, 6, 4, 2)
NEURON_FRACTIONS = (0.25, 0.5)
SMALL_CORE_NEURONS = 16
SCHEDULE_STEPS = 3


def calibration_spikes(n: int) -> np.ndarray:
    x_train, _, _, _ = load_split(SPLIT_SEED)
    return rate_encode(x_train[:n], N_STEPS, CALIBRATION_SEED, MAX_RATE)


def family_takes(target: str, option: str) -> bool:
    family = get_family(load_target(target).family)
    return option in {info.name for info in describe_options(family.options)}


def run(graph: Graph, target: Any, spikes: np.ndarray, **options: Any) -> tuple[Any, Any]:
    artifact = neurocc.compile(graph, target, **options)
    return artifact, neurocc.simulate(artifact, spikes, engine="exact", align=True)


def resource_name(target: Any) -> str:
    """The resource a family's demo reports (cores on many-core chips, tiles on crossbars)."""
    return get_family(load_target(target).family).demo_resource or "cores"


def cores(artifact: Any, name: str = "cores") -> int | None:
    used = artifact.layout.get("resources", {}).get(name, {}).get("used")
    return None if used is None else int(used)


def synapses(graph: Graph) -> int:
    return graph.synapse_count()


def sparsity_sweep(graph: Graph, targets: list[str], data: tuple[np.ndarray, np.ndarray],
                   calib: np.ndarray, sparsities: tuple[float, ...]) -> list[dict[str, Any]]:
    spikes, labels = data
    methods: dict[str, Callable[[float], Graph]] = {
        "magnitude": lambda f: run_pass(graph, "prune.magnitude", {"fraction": f}),
        "magnitude_per_projection": lambda f: run_pass(
            graph, "prune.magnitude", {"fraction": f, "per_projection": True}),
        "schedule_recalibrated": lambda f: run_pass(
            graph, "prune.schedule", {"fraction": f, "steps": SCHEDULE_STEPS, "data": calib}),
    }
    rows = []
    for method, prune in methods.items():
        for fraction in tqdm(sparsities, desc=f"sparsity {method}", unit="point"):
            pruned = prune(fraction)
            for target in targets:
                _, result = run(pruned, target, spikes)
                rows.append({"method": method, "sparsity": fraction, "target": target,
                             "synapses": synapses(pruned),
                             "accuracy": accuracy(result.output, labels)})
    return rows


def bit_sweep(graph: Graph, targets: list[str], data: tuple[np.ndarray, np.ndarray],
              calib: np.ndarray, bits: tuple[int, ...]) -> list[dict[str, Any]]:
    spikes, labels = data
    rows = []
    swept = [t for t in targets if "weight_bits" in load_target(t).entries]  # a weight width
    for target in tqdm(swept, desc="bit widths", unit="target"):
        native = int(load_target(target).weight_bits)
        for width in sorted({native, *bits}, reverse=True):
            spec = derive_target(target, weight_bits=width)
            for scaling in ("max", "calibrated"):
                options: dict[str, Any] = {}
                if family_takes(target, "weight_scaling"):
                    options["weight_scaling"] = scaling
                elif scaling == "calibrated":  # the family has no calibrated scaling
                    rows.append({"target": target, "weight_bits": width,
                                 "native": width == native, "scaling": scaling,
                                 "accuracy": None})
                    continue
                if scaling == "calibrated" and family_takes(target, "calibration_spikes"):
                    options["calibration_spikes"] = calib
                try:
                    _, result = run(graph, spec, spikes, **options)
                    score: float | None = accuracy(result.output, labels)
                except MappingError as exc:
                    score = None
                    print(f"  {target} {width} bits {scaling}: {exc}")
                rows.append({"target": target, "weight_bits": width, "native": width == native,
                             "scaling": scaling, "accuracy": score})
    return rows


def structured(graph: Graph, targets: list[str], data: tuple[np.ndarray, np.ndarray],
               calib: np.ndarray) -> list[dict[str, Any]]:
    spikes, labels = data
    variants: dict[str, Graph] = {"none": graph,
                                  "activity (silent)": run_pass(graph, "prune.activity",
                                                                {"data": calib})}
    for fraction in NEURON_FRACTIONS:
        variants[f"neurons {fraction:.0%}"] = run_pass(
            graph, "prune.neurons", {"fraction": fraction, "data": calib})
        variants[f"neurons {fraction:.0%} recal."] = run_pass(
            graph, "prune.neurons", {"fraction": fraction, "data": calib, "recalibrate": True})
    rows = []
    for target in targets:
        spec = load_target(target)
        small = (derive_target(target, neurons_per_core=SMALL_CORE_NEURONS)
                 if "neurons_per_core" in spec.entries else None)
        unit = resource_name(target)
        for name, pruned in variants.items():
            artifact, result = run(pruned, target, spikes)
            row = {"target": target, "pruning": name, "accuracy": accuracy(result.output, labels),
                   "hidden_neurons": sum(p.size for n, p in pruned.populations.items()
                                         if n not in pruned.inputs and n not in pruned.outputs),
                   "synapses": synapses(pruned), "resource": unit,
                   "cores": cores(artifact, unit), "cores_small": None}
            if small is not None:
                row["cores_small"] = cores(neurocc.compile(pruned, small), unit)
            rows.append(row)
    return rows


def with_subtract_reset(graph: Graph) -> Graph:
    """The digits model as sinabs would run it with its default reset (subtract)."""
    pops = {n: Population(n, p.model, p.shape, p.params, RESET_SUBTRACT, p.metadata)
            if p.neuron_model.spiking and p.model != "input" else p
            for n, p in graph.populations.items()}
    return graph.replace(populations=pops)


def _counts(graph: Graph, result: Any) -> dict[str, np.ndarray]:
    return {n: s.sum(axis=1) for n, s in result.spikes.items() if n not in graph.inputs}


def reset_conversion(graph: Graph, targets: list[str], data: tuple[np.ndarray, np.ndarray],
                     calib: np.ndarray) -> list[dict[str, Any]]:
    spikes, labels = data
    model = with_subtract_reset(graph)
    reference = neurocc.simulate(model, spikes, engine="reference")
    wanted = _counts(model, reference)
    converted = run_pass(model, "reset.convert", {"data": calib})
    rows = []
    for target in targets:
        how = "as is"
        try:
            _, plain = run(model, target, spikes)
        except MappingError:
            if not family_takes(target, "reset_policy"):
                print(f"  {target}: refuses the subtract reset and has no reset_policy")
                continue
            how = "reset_policy=approximate"
            _, plain = run(model, target, spikes, reset_policy="approximate")
        _, after = run(converted, target, spikes)
        rows.append({"target": target, "compiled": how,
                     "agreement_before": agreement(_counts(model, plain), wanted),
                     "agreement_after": agreement(_counts(model, after), wanted),
                     "spikes_reference": int(sum(v.sum() for v in wanted.values())),
                     "spikes_before": int(sum(v.sum() for v in _counts(model, plain).values())),
                     "spikes_after": int(sum(v.sum() for v in _counts(model, after).values())),
                     "accuracy_reference": accuracy(reference.output, labels),
                     "accuracy_before": accuracy(plain.output, labels),
                     "accuracy_after": accuracy(after.output, labels)})
    return rows


def plot(results: Mapping[str, Any], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for row_target in sorted({r["target"] for r in results["sparsity"]}):
        for method, style in (("magnitude", "-"), ("schedule_recalibrated", "--")):
            rows = [r for r in results["sparsity"]
                    if r["target"] == row_target and r["method"] == method]
            left.plot([r["sparsity"] for r in rows], [100 * r["accuracy"] for r in rows],
                      style, marker="o", label=f"{row_target} {method}")
    left.set(xlabel="sparsity (share of synapses removed)", ylabel="test accuracy (%)",
             title="accuracy against sparsity")
    left.legend(fontsize=7)
    for row_target in sorted({r["target"] for r in results["bits"]}):
        for scaling, style in (("max", "-"), ("calibrated", "--")):
            rows = [r for r in results["bits"] if r["target"] == row_target
                    and r["scaling"] == scaling and r["accuracy"] is not None]
            right.plot([r["weight_bits"] for r in rows], [100 * r["accuracy"] for r in rows],
                       style, marker="o", label=f"{row_target} {scaling}")
    right.set(xlabel="weight bits", ylabel="test accuracy (%)", xscale="log",
              title="accuracy against weight bit width")
    right.set_xticks(sorted({r["weight_bits"] for r in results["bits"]}))
    right.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    right.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def print_tables(results: Mapping[str, Any]) -> None:
    print("\naccuracy (%) against sparsity, exact engines")
    targets = sorted({r["target"] for r in results["sparsity"]})
    for method in sorted({r["method"] for r in results["sparsity"]}):
        print(f"  {method}")
        print("    sparsity " + "".join(f"{t:>14}" for t in targets))
        for s in sorted({r["sparsity"] for r in results["sparsity"]}):
            cells = {r["target"]: r["accuracy"] for r in results["sparsity"]
                     if r["method"] == method and r["sparsity"] == s}
            print(f"    {s:>8.0%} " + "".join(f"{_pct(cells.get(t)):>14}" for t in targets))
    print("\naccuracy (%) against weight bits: max-scaling / calibrated")
    for target in sorted({r["target"] for r in results["bits"]}):
        found = {(r["weight_bits"], r["scaling"]): r["accuracy"] for r in results["bits"]
                 if r["target"] == target}
        cells = " ".join(f"{w}b {_pct(found[w, 'max'])}/{_pct(found[w, 'calibrated'])}"
                         for w in sorted({w for w, _ in found}, reverse=True))
        print(f"  {target:<12} {cells}")
    print("\nstructured pruning: accuracy, hidden neurons, synapses, cores or tiles (demo target"
          f" / {SMALL_CORE_NEURONS} neurons per core)")
    for r in results["structured"]:
        print(f"  {r['target']:<12} {r['pruning']:<18} {_pct(r['accuracy']):>7} "
              f"{r['hidden_neurons']:>5} {r['synapses']:>6} {r['cores']!s:>4} "
              f"{r['cores_small']!s:>4} {r.get('resource', 'cores')}")
    print("\nreset conversion (digits model with subtract reset): spike-count agreement")
    for r in results["reset"]:
        print(f"  {r['target']:<12} {r['compiled']:<26} before {r['agreement_before']:.3f} "
              f"after {r['agreement_after']:.3f}  spikes {r['spikes_reference']}/"
              f"{r['spikes_before']}/{r['spikes_after']}  accuracy "
              f"{_pct(r['accuracy_reference'])}/{_pct(r['accuracy_before'])}/"
              f"{_pct(r['accuracy_after'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points (a smoke run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to save results")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="where to save the plot")
    parser.add_argument("--replot", action="store_true",
                        help="only print the tables and redraw the plot from --json")
    parser.add_argument("--skip-delays", action="store_true",
                        help="leave out the delay-learning benchmark (passes_delays.py)")
    args = parser.parse_args()
    if args.replot:
        saved = json.loads(args.json.read_text())
        print_tables(saved)
        plot(saved, args.plot)
        if not args.skip_delays:
            print_delay_tables()
        return
    graph, spikes, labels = _load_example()
    calib = calibration_spikes(40 if args.quick else CALIBRATION_SAMPLES)
    targets = demo_targets()
    data = (spikes, labels)
    start = time.perf_counter()
    sparsities = (0.0, 0.5) if args.quick else SPARSITIES
    bits = (8, 2) if args.quick else BITS
    results = {"sparsity": sparsity_sweep(graph, targets, data, calib, sparsities),
               "bits": bit_sweep(graph, targets, data, calib, bits),
               "structured": structured(graph, targets, data, calib),
               "reset": reset_conversion(graph, targets, data, calib)}
    print_tables(results)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "families": sorted(FAMILIES), "targets": targets, "test_samples": len(labels),
            "calibration_samples": int(calib.shape[0]), "seconds": time.perf_counter() - start}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, **results}, indent=2) + "\n")
    plot(results, args.plot)
    print(f"\nJSON in {args.json}, plot in {args.plot} ({meta['seconds']:.0f} s)")
    if not args.skip_delays:
        print("\n# Delays (benchmarks/passes_delays.py)\n", flush=True)
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "passes_delays.py")],
                       check=True)


def print_delay_tables() -> None:
    """The delay benchmark's saved zero / random / learned table."""
    path = ROOT / "benchmarks" / "results" / "passes_delays.json"
    saved = json.loads(path.read_text())
    print("\n# Delays (saved by benchmarks/passes_delays.py)\n")
    print("| delays | test accuracy, reference | test accuracy, exact engine |\n|---|---|---|")
    for name in ("zero", "random", "learned"):
        row = saved["motif_task"][name]
        print(f"| {name} | {row['test_accuracy_reference']:.1%} | "
              f"{row['test_accuracy_exact']:.1%} |")


if __name__ == "__main__":
    main()
