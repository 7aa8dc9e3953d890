"""Crossbar benchmark: zero-shot LSM accuracy against noise and ADC bits, engine throughput, and
our PCM device model against aihwkit's.

    python benchmarks/crossbar.py [--seeds 2] [--parts accuracy throughput aihwkit]
                                  [--json PATH] [--plot PATH]

``accuracy``: the zero-shot reservoir of ``examples/zeroshot_lsm`` (200 LIF
neurons, weights from switched RRAM cells) on the analog engine, test accuracy
on the digits against (a) the read noise, 0x to 50x the ``rram256k`` target's
1 %, (b) the programming noise of the software reservoir programmed onto the
same arrays, 0x to 8x Wan's fit, and (c) the ADC bits (2 to 8; the target has
8), each a copy of the target file with that value changed. Mean and sd over
``--seeds`` device seeds; the software reservoir on the float engine is the
reference line. Plot: ``docs/crossbar_zeroshot.png``.

``throughput``: matrix-vector products per second of the analog engine for one
dense ``N x N`` projection (N = 256: 2 arrays, the differential pair doubles the
columns; N = 1024: 32 arrays), input -> ``li`` population, random spikes at rate
0.5, batch 64 x 16 steps; one MVM is one (sample, step) product of the whole
matrix, every array read with read noise, drift, DAC and ADC on. Also the
``ideal=True`` engine and a numpy float64 ``x @ W.T`` of the same shape. The
target copy raises ``tiles_per_chip`` so that 1024 x 1024 fits.

``aihwkit``: mean and sd of programmed and drifted PCM conductances (20 000
devices per point) from our ``pcm256`` device model and from aihwkit's
``PCMLikeNoiseModel`` (skipped when aihwkit is not installed).

Results: ``benchmarks/results/crossbar.json`` and tables on stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "crossbar.json"
DEFAULT_PLOT = ROOT / "docs" / "crossbar_zeroshot.png"
READ_NOISE_SCALES = (0.0, 1.0, 5.0, 10.0, 20.0, 50.0)
PROGRAMMING_NOISE_SCALES = (0.0, 1.0, 2.0, 4.0, 8.0)
ADC_BITS = (2, 3, 4, 5, 6, 8)
THROUGHPUT_SIZES = (256, 1024)
THROUGHPUT_BATCH, THROUGHPUT_STEPS, THROUGHPUT_RATE = 64, 16, 0.5
AIHWKIT_X = (0.02, 0.1, 0.25, 0.5, 1.0)
AIHWKIT_T_S = (1.0, 3600.0, 86400.0)
AIHWKIT_N = 20_000


def example() -> ModuleType:
    """examples/zeroshot_lsm/run.py, loaded by path."""
    spec = importlib.util.spec_from_file_location("zeroshot_example",
                                                  ROOT / "examples" / "zeroshot_lsm" / "run.py")
    if spec is None or spec.loader is None:
        raise SystemExit("examples/zeroshot_lsm/run.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def over_seeds(run: Callable[[int], float], seeds: int) -> dict[str, float]:
    values = [run(seed) for seed in range(seeds)]
    return {"mean": float(np.mean(values)), "sd": float(np.std(values))}


# -- accuracy -------------------------------------------------------------------------------
def accuracy_part(seeds: int, folder: Path) -> dict[str, Any]:
    from tqdm import tqdm

    ex = example()
    data = ex.load_data()
    out: dict[str, Any] = {"software_reference": over_seeds(
        lambda s: ex.on_reference(ex.software(s), data), seeds)}
    sweeps: list[tuple[str, float, dict[str, float], bool]] = (
        [("read_noise", f, ex.read_noise(f), True) for f in READ_NOISE_SCALES]
        + [("programming_noise", f, ex.programming_noise(f), False)
           for f in PROGRAMMING_NOISE_SCALES]
        + [("adc_bits", b, {"adc_bits": b}, True) for b in ADC_BITS])
    for kind, value, changes, zero_shot in tqdm(sweeps, desc="accuracy sweeps"):
        target = ex.target_variant(folder, f"rram_{kind}_{value:g}", changes)

        def run(seed: int, target: Path = target, zero_shot: bool = zero_shot) -> float:
            if zero_shot:  # nothing is programmed: the switched cells are the weights
                return ex.on_crossbar(ex.device(seed, target), data, target, seed=seed,
                                      programming_noise=False)
            return ex.on_crossbar(ex.software(seed), data, target, seed=seed)

        out.setdefault(kind, []).append({"value": value, **over_seeds(run, seeds)})
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("read_noise", "read noise (x rram256k's 1 %)", "zero-shot reservoir"),
              ("programming_noise", "programming noise (x Wan 2022 fit)",
               "software reservoir, programmed"),
              ("adc_bits", "ADC bits", "zero-shot reservoir"))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    reference = results["software_reference"]["mean"]
    for ax, (kind, label, what) in zip(axes, panels, strict=True):
        rows = results[kind]
        x = [r["value"] for r in rows]
        ax.errorbar(x, [r["mean"] for r in rows], yerr=[r["sd"] for r in rows], marker="o",
                    capsize=3, label=f"{what}, crossbar engine")
        ax.axhline(reference, color="grey", linestyle="--", label="software reservoir, float")
        ax.axhline(0.1, color="black", linestyle=":", label="chance")
        ax.set_xlabel(label)
        ax.set_title(what, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (digits)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Zero-shot LSM on RRAM (200 neurons): accuracy vs non-idealities")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# -- throughput -----------------------------------------------------------------------------
def throughput_part(folder: Path) -> list[dict[str, Any]]:
    import neurocc
    from neurocc.compiler.graph import Graph, Population, Projection

    ex = example()
    target = ex.target_variant(folder, "rram_big", {"tiles_per_chip": 64})
    rng = np.random.default_rng(0)
    rows = []
    for n in THROUGHPUT_SIZES:
        weight = rng.standard_normal((n, n))
        graph = Graph(1e-3, {"in": Population("in", "input", (n,)),
                             "out": Population("out", "li", (n,),
                                               {"tau_s": np.asarray(20e-3)})},
                      {"w": Projection("w", "in", "out", weight)}, ("in",), ("out",), {})
        artifact = neurocc.compile(graph, target)
        spikes = (rng.random((THROUGHPUT_BATCH, THROUGHPUT_STEPS, n))
                  < THROUGHPUT_RATE).astype(np.uint8)
        mvms = THROUGHPUT_BATCH * THROUGHPUT_STEPS
        row: dict[str, Any] = {"n": n, "arrays": len(artifact.layout["tiles"]), "mvms": mvms}
        for name, options in (("analog", {}), ("ideal", {"ideal": True})):
            start = time.perf_counter()
            neurocc.simulate(artifact, spikes, engine="exact", **options)
            row[f"{name}_mvm_per_s"] = mvms / (time.perf_counter() - start)
        x = spikes.reshape(-1, n).astype(np.float64)
        start = time.perf_counter()
        for _ in range(5):
            x @ weight.T
        row["numpy_float_mvm_per_s"] = 5 * mvms / (time.perf_counter() - start)
        rows.append(row)
    return rows


# -- aihwkit --------------------------------------------------------------------------------
def aihwkit_part() -> list[dict[str, Any]] | str:
    try:
        import torch
        from aihwkit.inference.noise.pcm import PCMLikeNoiseModel
    except ImportError as exc:
        return f"skipped: {exc}"
    from neurocc.backends import load_target
    from neurocc.sim.crossbar.devices import Device, conductance_at, drift_exponents, program

    spec = load_target("pcm256")
    device = Device.of(spec)
    model = PCMLikeNoiseModel(g_max=spec.g_max_us, t_read=spec.read_time_ns * 1e-9,
                              t_0=spec.drift_t0_s)
    rows = []
    for x in AIHWKIT_X:
        g_t = x * spec.g_max_us
        for t_s in AIHWKIT_T_S:
            rng = np.random.default_rng(1)
            target = np.full(AIHWKIT_N, g_t)
            ours_prog = program(device, target, rng)
            ours_t = conductance_at(device, ours_prog, drift_exponents(device, target, rng),
                                    t_s, rng)
            torch.manual_seed(2)
            tt = torch.full((AIHWKIT_N,), g_t, dtype=torch.float32)
            their_prog = model.apply_programming_noise_to_conductance(tt)
            their_t = model.apply_drift_noise_to_conductance(
                their_prog, model.generate_drift_coefficients(tt), t_s).double().numpy()
            their_prog_np = their_prog.double().numpy()
            rows.append({"x": x, "g_target_us": g_t, "t_s": t_s,
                         "ours_prog_mean_us": float(ours_prog.mean()),
                         "ours_prog_sd_us": float(ours_prog.std()),
                         "aihwkit_prog_mean_us": float(their_prog_np.mean()),
                         "aihwkit_prog_sd_us": float(their_prog_np.std()),
                         "ours_t_mean_us": float(ours_t.mean()),
                         "ours_t_sd_us": float(ours_t.std()),
                         "aihwkit_t_mean_us": float(their_t.mean()),
                         "aihwkit_t_sd_us": float(their_t.std())})
    return rows


# -- output ---------------------------------------------------------------------------------
def print_tables(results: dict[str, Any]) -> None:
    acc = results.get("accuracy")
    if acc:
        ref = acc["software_reference"]
        print(f"software reservoir, float engine: {ref['mean']:.3f} +- {ref['sd']:.3f}")
        for kind in ("read_noise", "programming_noise", "adc_bits"):
            print(f"\n{kind:<18} accuracy (mean +- sd over seeds)")
            for row in acc[kind]:
                print(f"{row['value']:<18g} {row['mean']:.3f} +- {row['sd']:.3f}")
    for row in results.get("throughput", []):
        print(f"\n{row['n']} x {row['n']} ({row['arrays']} arrays): analog "
              f"{row['analog_mvm_per_s']:,.0f} MVM/s, ideal {row['ideal_mvm_per_s']:,.0f}, "
              f"numpy float {row['numpy_float_mvm_per_s']:,.0f}")
    rows = results.get("aihwkit")
    if isinstance(rows, list):
        print("\nx     t (s)    programmed mean/sd (ours | aihwkit)    "
              "at t mean/sd (ours | aihwkit)")
        for r in rows:
            print(f"{r['x']:<5g} {r['t_s']:<8g} "
                  f"{r['ours_prog_mean_us']:6.3f}/{r['ours_prog_sd_us']:.3f} | "
                  f"{r['aihwkit_prog_mean_us']:6.3f}/{r['aihwkit_prog_sd_us']:.3f}      "
                  f"{r['ours_t_mean_us']:6.3f}/{r['ours_t_sd_us']:.3f} | "
                  f"{r['aihwkit_t_mean_us']:6.3f}/{r['aihwkit_t_sd_us']:.3f}")
    elif rows:
        print(f"\naihwkit: {rows}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--parts", nargs="+", default=["accuracy", "throughput", "aihwkit"],
                        choices=["accuracy", "throughput", "aihwkit"])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the plot from the accuracy part of --json")
    args = parser.parse_args(argv)
    if args.replot:
        plot(json.loads(args.json.read_text())["accuracy"], args.plot)
        return 0
    results: dict[str, Any] = {"machine": platform.platform(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="neurocc-crossbar-bench-") as folder:
        if "accuracy" in args.parts:
            results["accuracy"] = accuracy_part(args.seeds, Path(folder))
            plot(results["accuracy"], args.plot)
        if "throughput" in args.parts:
            results["throughput"] = throughput_part(Path(folder))
    if "aihwkit" in args.parts:
        results["aihwkit"] = aihwkit_part()
    print_tables(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
