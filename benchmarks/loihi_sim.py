"""Exact Loihi engine vs Lava fixed_pt on the same network and input: wall time, ratio, equality.

The network: input (N) -> Dense -> LIF (N) -> Dense -> LIF (N), integer
parameters drawn from a seed, for N = 1024 and 4096 neurons per layer;
Bernoulli input at 1 % and 10 % activity; batch 1 and 64. Lava runs one
sample per run, so for batch 64 it runs ``--lava-samples`` samples and the
table extrapolates its time per sample to 64 (marked "x64 est."). Every Lava
sample's spikes are checked against the engine's.

    python benchmarks/loihi_sim.py [--quick] [--json PATH]

``--throughput N ...`` measures the engine alone (no Lava) at scale instead: N input
sources -> ``Sparse`` -> N LIF neurons, ``THROUGHPUT_FAN_IN`` (100) random synapses per
neuron, input at 1 % activity, batch 1 and 64; it prints the time per step inside the
stepping loop (the network read and the weight blocks built beforehand are excluded) and
the synaptic events per second (the engine's ``synops`` over that time), in wall time and
in the process's CPU time (on a shared machine the CPU time is the steadier figure); results
go to
``results/loihi_throughput.json``. 1 M neurons need several GiB: run them alone.

    python benchmarks/loihi_sim.py --throughput 10000 100000 [--batches 1 64] [--device cpu]
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
import scipy.sparse as sp

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.lava_export import run_lava
from neurocc.backends.loihi.section import (
    DENSE,
    SECTION,
    SPARSE,
    LifSpec,
    NetworkSpec,
    PopulationSpec,
    ProjectionSpec,
    write_section,
)
from neurocc.backends.loihi.spec import load_loihi_target
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.loihi import engine, run_artifact

DEFAULT_JSON = Path(__file__).parent / "results" / "loihi_sim.json"
THROUGHPUT_JSON = Path(__file__).parent / "results" / "loihi_throughput.json"
THROUGHPUT_FAN_IN = 100  # synapses per neuron, as benchmarks/scale.py
THROUGHPUT_ACTIVITY = 0.01
# steps per run: enough for a stable time; fewer at batch 64 (memory: batch x steps x N)
THROUGHPUT_STEPS = {1: 200, 64: 20}
THROUGHPUT_MAX_ELEMENTS = 2 * 10**8  # batch x steps x N above this: fewer steps (memory)
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


def build_sparse_network(n: int, seed: int) -> Artifact:
    """input (n) -> Sparse -> LIF (n), THROUGHPUT_FAN_IN random sources per neuron, integer
    weights in [WEIGHT_LOW, WEIGHT_HIGH), weight_exp 0; written like a compiled artifact."""
    rng = np.random.default_rng(seed)
    nnz = n * THROUGHPUT_FAN_IN
    rows = np.repeat(np.arange(n, dtype=np.int64), THROUGHPUT_FAN_IN)
    weight = sp.csr_array((rng.integers(WEIGHT_LOW, WEIGHT_HIGH, nnz).astype(np.float64),
                           (rows, rng.integers(0, n, nnz))), shape=(n, n))
    weight.sum_duplicates()
    zeros, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    pops = {name: PopulationSpec(name, n, name == "in", zeros, ones, zeros, zeros)
            for name in ("in", "h")}
    lifs = {"h": LifSpec("h", n, DU, DV, VTH, zeros, zeros, np.ones(n))}
    mantissas = sp.csr_array(weight.astype(np.int64))
    projs = {"p": ProjectionSpec("p", SPARSE, "in", "h", mantissas, 0, WEIGHT_BITS, np.array(0))}
    net = NetworkSpec(pops, lifs, projs, ("in",), ("h",), 1, load_loihi_target(TARGET))
    layout, arrays = write_section(net)
    for i, entry in enumerate(layout["populations"].values()):
        entry.update(latency_offset=i, cores=[0])
    layout.update(step_order=["in", "h"], cores=[], resources={})
    graph = Graph(DT_S, {"in": Population("in", "input", (n,)),
                         "h": Population("h", "lif", (n,), {"tau_s": 0.02, "v_threshold": 1.0},
                                         reset="to_value")},
                  {"p": Projection("p", "in", "h", weight, np.array(1))}, ("in",), ("h",))
    return Artifact(TARGET, "loihi", graph, layout, {SECTION: arrays})


def measure_throughput(n: int, batch: int, device: str) -> dict:
    """Seconds per step inside the stepping loop and synaptic events per second."""
    artifact = build_sparse_network(n, SEED)
    steps = THROUGHPUT_STEPS.get(batch, 20)
    steps = max(2, min(steps, THROUGHPUT_MAX_ELEMENTS // (batch * n)))
    rng = np.random.default_rng(SEED)
    spikes = np.zeros((batch, steps, n), dtype=np.uint8)
    for sample in spikes:  # one sample at a time: the float draw is 4 bytes per entry
        sample[...] = rng.random((steps, n), dtype=np.float32) < THROUGHPUT_ACTIVITY
    loop_s, loop_cpu_s = [0.0], [0.0]
    inner = engine._run_component

    def timed(*args: object) -> None:
        start, start_cpu = time.perf_counter(), time.process_time()
        inner(*args)  # type: ignore[arg-type]
        loop_s[0] += time.perf_counter() - start
        loop_cpu_s[0] += time.process_time() - start_cpu

    options = {} if device == "cpu" else {"device": device}
    run_artifact(build_sparse_network(min(n, 1000), SEED), spikes[:1, :2, :min(n, 1000)],
                 **options)  # compile (or load) the kernels outside the measurement
    engine._run_component = timed  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        result = run_artifact(artifact, spikes, **options)
        total_s = time.perf_counter() - start
    finally:
        engine._run_component = inner  # type: ignore[assignment]
    events = result.counters["synops"]
    return {"neurons": n, "synapses": int(artifact.graph.synapse_count()), "batch": batch,
            "steps": steps, "device": device, "events": int(events),
            "loop_s": loop_s[0], "loop_cpu_s": loop_cpu_s[0], "run_s": total_s,
            "step_ms": 1e3 * loop_s[0] / steps, "cpu_step_ms": 1e3 * loop_cpu_s[0] / steps,
            "events_per_s": events / loop_s[0], "events_per_cpu_s": events / loop_cpu_s[0],
            "hidden_rate": float(result.spikes["h"].mean())}


def throughput_table(rows: list[dict]) -> str:
    head = (f"{'neurons':>9} {'synapses':>11} {'batch':>5} {'steps':>5} {'device':>9} "
            f"{'step ms':>9} {'events/s':>9} {'CPU ms':>9} {'ev/CPU s':>9} {'run s':>7} "
            f"{'h rate':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['neurons']:>9,} {r['synapses']:>11,} {r['batch']:>5} {r['steps']:>5} "
                     f"{r['device']:>9} {r['step_ms']:>9.3f} {r['events_per_s']:>9.2e} "
                     f"{r['cpu_step_ms']:>9.3f} {r['events_per_cpu_s']:>9.2e} "
                     f"{r['run_s']:>7.2f} {r['hidden_rate']:>7.4f}")
    return "\n".join(lines)


def throughput_main(sizes: list[int], batches: list[int], device: str, path: Path) -> int:
    rows = []
    for n in sizes:
        for batch in batches:
            rows.append(measure_throughput(n, batch, device))
            print(throughput_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(throughput_table(rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "load_average_1min": __import__("os").getloadavg()[0],
            "fan_in": THROUGHPUT_FAN_IN, "activity": THROUGHPUT_ACTIVITY, "seed": SEED}
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nsaved {path}")
    return 0


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
    parser.add_argument("--throughput", type=int, nargs="+", metavar="N",
                        help="engine throughput at N neurons (no Lava; module docstring)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--device", default="cpu", help="engine device (throughput only)")
    args = parser.parse_args(argv)
    if args.throughput:
        path = THROUGHPUT_JSON if args.json == DEFAULT_JSON else args.json
        return throughput_main(args.throughput, args.batches, args.device, path)
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
