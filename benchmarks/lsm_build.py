"""Time and memory of ``build_lsm``, from Maass' 135-neuron column to 100 k neurons and 10 M
synapses.

Each case runs in its own Python process, so its peak memory (``ru_maxrss``,
which includes the interpreter, numpy and scipy: about 60 MB) is its own.
``build_s`` is the whole of ``build_lsm(params)``: drawing types, pairs,
weights and delays, the CSR matrices and the verified Graph.

    python benchmarks/lsm_build.py [--repeat K] [--cases NAME ...] [--json PATH]

``--repeat`` keeps the best of K runs of each case (the machine may be
shared). Results go to ``results/lsm_build.json`` and print as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_JSON = Path(__file__).parent / "results" / "lsm_build.json"
MAASS_C = (0.3, 0.2, 0.4, 0.1)  # C_EE, C_EI, C_IE, C_II of Maass et al. (2002)
# Maass' C scaled so that a neuron has about 100 synapses among 100 k (mean C 0.292 -> 0.001)
SPARSE_C = tuple(c * 1e-3 / 0.292 for c in MAASS_C)

CASES: dict[str, dict[str, Any]] = {
    "maass_135": {"n_inputs": 64, "shape": [15, 3, 3]},
    "grid_27k": {"n_inputs": 100, "shape": [30, 30, 30], "input_fraction": 0.01},
    "uniform_100k_10M": {"n_inputs": 100, "shape": [100_000], "length_constant": None,
                         "connectivity": dict(zip(("ee", "ei", "ie", "ii"), SPARSE_C,
                                                  strict=True)),
                         "input_fraction": 0.001},
    "grid_100k_10M": {"n_inputs": 100, "shape": [47, 47, 47], "length_constant": 4.2,
                      "input_fraction": 0.001},
}


def run_case_here(name: str) -> dict[str, Any]:
    """Build one case in this process; print its row as JSON."""
    from neurocc.frontends.lsm import LsmParameters, build_lsm, expected_synapses

    spec = dict(CASES[name])
    params = LsmParameters(**{**spec, "shape": tuple(spec["shape"])})
    start_s = time.perf_counter()
    graph = build_lsm(params)
    build_s = time.perf_counter() - start_s
    recurrent = graph.projections["reservoir_reservoir"].weight
    return {"case": name, "neurons": params.n_reservoir, "recurrent_synapses": recurrent.nnz,
            "input_synapses": graph.projections["input_reservoir"].weight.nnz,
            "expected_synapses": round(expected_synapses(params)), "build_s": build_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(name: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"case {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best_of(name: str, repeat: int) -> dict[str, Any]:
    rows = [run_case(name) for _ in range(repeat)]
    return min(rows, key=lambda row: row["build_s"]) | {
        "peak_rss_mb": min(row["peak_rss_mb"] for row in rows), "repeat": repeat}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | neurons | recurrent synapses | input synapses | build (s) | peak RSS (MB) |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['case']} | {r['neurons']:,} | {r['recurrent_synapses']:,} | "
              f"{r['input_synapses']:,} | {r['build_s']:.2f} | {r['peak_rss_mb']:.0f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--one", choices=list(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_case_here(args.one)))
        return 0
    load_before = os.getloadavg()[0]
    rows = [best_of(name, args.repeat) for name in args.cases]
    print(table(rows))
    # the machine may be shared: the 1-minute load average says how much (cores: os.cpu_count)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_1min": [load_before, os.getloadavg()[0]],
            "cases": {name: CASES[name] for name in args.cases}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "result": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
