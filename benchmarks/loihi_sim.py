"""Exact Loihi engine vs Lava fixed_pt on the same network and input: wall time, ratio, equality.

The network: input (N) -> Dense -> LIF (N) -> Dense -> LIF (N), integer
parameters drawn from a seed, for N = 1024 and 4096 neurons per layer;
Bernoulli input at 1 % and 10 % activity; batch 1 and 64. Lava runs one
sample per run, so for batch 64 it runs ``--lava-samples`` samples and the
table extrapolates its time per sample to 64 (marked "x64 est."). Every Lava
sample's spikes are checked against the engine's.

    python benchmarks/loihi_sim.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.lava_export import run_lava
from neurocc.backends.loihi.section import (
    DENSE,
    SECTION,
    LifSpec,
    NetworkSpec,
    PopulationSpec,
    ProjectionSpec,
    write_section,
)
from neurocc.backends.loihi.spec import load_loihi_target
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.loihi import run_artifact

DEFAULT_JSON = Path(__file__).parent / "results" / "loihi_sim.json"
DT_S = 1e-3
SEED = 7
TARGET = "loihi2"
WEIGHT_BITS = 8
# Chosen so the hidden layers fire sparsely (a few % of neurons per step), as trained nets do
DU, DV, VTH = 1024, 256, 1500
WEIGHT_LOW, WEIGHT_HIGH = -64, 65
FULL = {"sizes": (1024, 4096), "rates": (0.01, 0.1), "batches": (1, 64), "steps": 100}
QUICK = {"sizes": (256,), "rates": (0.01, 0.1), "batches": (1, 8), "steps": 50}


def build_network(n: int, seed: int) -> Artifact:
    """A 2-layer feed-forward Loihi artifact with N neurons per layer (target loihi2), written
    by the section writer like a compiled one."""
    rng = np.random.default_rng(seed)
    names = ("in", "h1", "h2")
    zeros, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    pops = {name: PopulationSpec(name, n, name == "in", zeros, ones, zeros, zeros)
            for name in names}
    lifs = {name: LifSpec(name, n, DU, DV, VTH, zeros, zeros, np.ones(n)) for name in names[1:]}
    projs = {}
    for i, (src, dst) in enumerate(itertools.pairwise(names)):
        weight = rng.integers(WEIGHT_LOW, WEIGHT_HIGH, size=(n, n), dtype=np.int64)
        projs[f"p{i}"] = ProjectionSpec(f"p{i}", DENSE, src, dst, weight, 0, WEIGHT_BITS,
                                        np.array(0))
    net = NetworkSpec(pops, lifs, projs, ("in",), ("h2",), len(projs),
                      load_loihi_target(TARGET))
    layout, arrays = write_section(net)
    for i, entry in enumerate(layout["populations"].values()):
        entry.update(latency_offset=i, cores=[0])
    layout.update(step_order=list(names), cores=[], resources={})
    graph_pops = {"in": Population("in", "input", (n,))}
    graph_pops.update({name: Population(name, "lif", (n,), {"tau_s": 0.02, "v_threshold": 1.0},
                                        reset="to_value") for name in names[1:]})
    graph_projs = {name: Projection(name, p.source, p.target, p.weight.astype(float),
                                    np.array(1)) for name, p in projs.items()}
    graph = Graph(DT_S, graph_pops, graph_projs, ("in",), ("h2",))
    return Artifact(TARGET, "loihi", graph, layout, {SECTION: arrays})


def time_engine(artifact: Artifact, spikes: np.ndarray, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_artifact(artifact, spikes)
        best = min(best, time.perf_counter() - start)
    return best, result


def time_lava(artifact: Artifact, spikes: np.ndarray) -> tuple[float, list]:
    """Seconds per sample of run_lava (build, compile, run, read back), and its results."""
    results, start = [], time.perf_counter()
    for sample in spikes:
        results.append(run_lava(artifact, sample[None]))
    return (time.perf_counter() - start) / len(spikes), results


def measure(n: int, rate: float, batch: int, steps: int, lava_samples: int,
            artifact: Artifact) -> dict:
    rng = np.random.default_rng(SEED + n)
    spikes = (rng.random((batch, steps, n)) < rate).astype(np.uint8)
    engine_s, engine = time_engine(artifact, spikes, repeats=3 if batch == 1 else 1)
    sampled = spikes[: min(batch, lava_samples)]
    lava_per_sample_s, lava = time_lava(artifact, sampled)
    identical = all(np.array_equal(engine.spikes[p][i], res.spikes[p][0])
                    for i, res in enumerate(lava) for p in ("h1", "h2"))
    lava_s = lava_per_sample_s * batch
    return {"neurons_per_layer": n, "input_rate": rate, "batch": batch, "steps": steps,
            "engine_s": engine_s, "lava_s": lava_s, "lava_samples_run": len(sampled),
            "lava_extrapolated": len(sampled) < batch, "speedup": lava_s / engine_s,
            "identical": identical,
            "hidden_rate": float(engine.spikes["h1"].mean()),
            "output_rate": float(engine.spikes["h2"].mean())}


def table(rows: list[dict]) -> str:
    head = (f"{'N/layer':>7} {'input':>6} {'batch':>5} {'steps':>5} {'engine s':>9} "
            f"{'Lava s':>16} {'speedup':>8} {'h1 rate':>7} {'same':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lava = f"{r['lava_s']:.2f}" + (f" (x{r['batch']} est.)" if r["lava_extrapolated"] else "")
        lines.append(f"{r['neurons_per_layer']:>7} {r['input_rate']:>6.0%} {r['batch']:>5} "
                     f"{r['steps']:>5} {r['engine_s']:>9.4f} {lava:>16} {r['speedup']:>7.0f}x "
                     f"{r['hidden_rate']:>7.3f} {'yes' if r['identical'] else 'NO':>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to save results")
    parser.add_argument("--lava-samples", type=int, default=2,
                        help="Lava samples run for batch > 1 (time is extrapolated)")
    args = parser.parse_args(argv)
    # networkx inside Lava's compiler warns that pandas is missing
    warnings.filterwarnings("ignore", message="pandas not found", category=ImportWarning)
    config = QUICK if args.quick else FULL
    rows = []
    for n in config["sizes"]:
        artifact = build_network(n, SEED)
        for rate in config["rates"]:
            for batch in config["batches"]:
                rows.append(measure(n, rate, batch, config["steps"], args.lava_samples, artifact))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "processor": platform.processor(), "config": config, "seed": SEED}
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nsaved {args.json}")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
