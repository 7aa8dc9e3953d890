"""Compile, write, read and simulate one dense LIF layer: where the seconds and bytes go.

The network: inputs (N) -> dense float weights -> LIF (N), weights drawn from
a normal distribution with a fixed seed, compiled for ``loihi2`` (a copy of its
target file with ``--chips`` chips: 4096 x 4096 needs 170 cores, one chip has
128; the copy is what the README tells users to make). Each stage
runs in its own Python process so its peak memory (``ru_maxrss``) is its own:

- ``compile``: build the Graph, ``neurocc.compile(graph, "loihi2")`` (the
  compiler's work) then ``write_artifact`` (the artifact write); together they
  are exactly ``neurocc.compile(graph, "loihi2", out=DIR)``.
- ``simulate``: ``neurocc.read_artifact(DIR)`` then ``neurocc.simulate(...,
  engine="exact")`` on Bernoulli input spikes.

    python benchmarks/artifact.py [--size N] [--steps T] [--repeat K] [--profile] [--json PATH]

``--size 512`` is a quick run (a few seconds). ``--repeat`` keeps the best of
K runs of each measure (the machine may be shared). ``--profile`` prints the
top functions of each stage (cProfile, by own and by cumulative time;
profiling slows the stages down). The JSON keeps a ``baseline`` for the same
configuration and prints it beside this run; the one in
``results/artifact.json`` is artifact format 1 (``backends/artifact.py`` of
commit e74f4d1, run with ``--save-baseline``), best of 3 runs alternated with
runs of format 2.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_JSON = Path(__file__).parent / "results" / "artifact.json"
SEED = 11
DT_S = 1e-3
TAU_S = 0.02
V_THRESHOLD = 1.0
TARGET = "loihi2"
PROFILE_LINES = 12
# The summed input of a step has std ~1 threshold at the input rate; x5 makes about 1.3 % of
# the LIF neurons spike per step at 1 % input (measured), sparse as trained nets are
WEIGHT_GAIN = 5.0


def build_graph(n: int, rate: float) -> Any:
    """inputs (n) -> lif (n), normal weights scaled for sparse firing at input rate ``rate``."""
    from neurocc.compiler.graph import Graph, Population, Projection

    rng = np.random.default_rng(SEED)
    weight = rng.standard_normal((n, n)) * WEIGHT_GAIN / np.sqrt(max(n * rate, 1.0))
    pops = {"inputs": Population("inputs", "input", (n,)),
            "lif": Population("lif", "lif", (n,), {"tau_s": TAU_S, "v_threshold": V_THRESHOLD},
                              reset="to_value")}
    projection = Projection("dense", "inputs", "lif", weight)
    return Graph(DT_S, pops, {"dense": projection}, ("inputs",), ("lif",))


def target_copy(chips: int, directory: Path) -> Path:
    """The packaged loihi2 target file with ``mesh.chips`` raised to ``chips``."""
    import yaml

    from neurocc.backends import resolve_target

    spec = yaml.safe_load(resolve_target(TARGET).path.read_text())
    spec["mesh"]["chips"]["value"] = chips
    path = directory / f"{TARGET}-{chips}chips.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(row: dict[str, Any], key: str, function: Any, *args: Any) -> Any:
    """Call ``function``; record its wall seconds as ``key_s`` and CPU seconds as ``key_cpu_s``.

    CPU seconds (this process, all threads) tell the work apart from waiting on a busy machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(*args)
    row[f"{key}_s"] = time.perf_counter() - wall
    row[f"{key}_cpu_s"] = time.process_time() - cpu
    return value


def _total(row: dict[str, Any], key: str, parts: tuple[str, ...]) -> None:
    row[f"{key}_s"] = sum(row[f"{p}_s"] for p in parts)
    row[f"{key}_cpu_s"] = sum(row[f"{p}_cpu_s"] for p in parts)


def stage_compile(args: argparse.Namespace) -> dict[str, Any]:
    import neurocc
    from neurocc.backends.artifact import write_artifact

    target = target_copy(args.chips, args.dir.parent)
    row: dict[str, Any] = {}
    graph = timed(row, "build_graph", build_graph, args.size, args.rate)
    artifact = timed(row, "compiler", neurocc.compile, graph, target)
    row["compiler_peak_rss_mb"] = peak_rss_mb()  # the peak is monotonic: later ones add
    timed(row, "write", write_artifact, artifact, args.dir)
    _total(row, "compile_total", ("compiler", "write"))
    row["file_bytes"] = {p.name: p.stat().st_size for p in sorted(Path(args.dir).iterdir())}
    row["compile_peak_rss_mb"] = peak_rss_mb()
    return row


def stage_simulate(args: argparse.Namespace) -> dict[str, Any]:
    import neurocc

    rng = np.random.default_rng(SEED + 1)
    spikes = (rng.random((args.batch, args.steps, args.size)) < args.rate).astype(np.uint8)
    row: dict[str, Any] = {}
    artifact = timed(row, "read", neurocc.read_artifact, args.dir)
    row["read_peak_rss_mb"] = peak_rss_mb()
    result = timed(row, "run", functools.partial(neurocc.simulate, engine="exact"), artifact,
                   spikes)
    _total(row, "simulate_total", ("read", "run"))
    row["output_rate"] = float(result.output.mean())
    row["simulate_peak_rss_mb"] = peak_rss_mb()
    return row


STAGES = {"compile": stage_compile, "simulate": stage_simulate}


def run_stage_here(args: argparse.Namespace) -> int:
    """Child process: run one stage, print its profile to stderr and its JSON to stdout."""
    if not args.profile:
        print(json.dumps(STAGES[args.stage](args)))
        return 0
    profiler = cProfile.Profile()
    row = profiler.runcall(STAGES[args.stage], args)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(2 * PROFILE_LINES)
    print(json.dumps(row))
    return 0


def run_stage(stage: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Run ``stage`` in a fresh interpreter (so its peak memory is its own)."""
    command = [sys.executable, __file__, "--stage", stage, "--dir", str(directory),
               "--size", str(args.size), "--steps", str(args.steps),
               "--batch", str(args.batch), "--rate", str(args.rate),
               "--chips", str(args.chips)]
    if args.profile:
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if args.profile or done.returncode:
        print(done.stderr, file=sys.stderr)
    if done.returncode:
        raise SystemExit(f"stage {stage} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_once(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="neurocc-bench-") as scratch:
        directory = Path(scratch) / "artifact"
        row = run_stage("compile", args, directory)
        row.update(run_stage("simulate", args, directory))
    return row


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The best (smallest) value of every measure over ``--repeat`` runs."""
    runs = [measure_once(args) for _ in range(args.repeat)]
    row = {key: min(run[key] for run in runs) if isinstance(value, float) else value
           for key, value in runs[0].items()}
    row.update({"repeats": args.repeat, "size": args.size, "synapses": args.size * args.size,
                "steps": args.steps, "batch": args.batch, "input_rate": args.rate,
                "chips": args.chips})
    return row


ROWS = (("compile: compiler work", "compiler_s", "s"),
        ("compile: artifact write", "write_s", "s"),
        ("compile: total", "compile_total_s", "s"),
        ("compile: peak RSS, compiler", "compiler_peak_rss_mb", "MB"),
        ("compile: peak RSS, + write", "compile_peak_rss_mb", "MB"),
        ("simulate: artifact read", "read_s", "s"),
        ("simulate: run", "run_s", "s"),
        ("simulate: total", "simulate_total_s", "s"),
        ("simulate: peak RSS, read", "read_peak_rss_mb", "MB"),
        ("simulate: peak RSS, + run", "simulate_peak_rss_mb", "MB"))


def _cell(row: dict[str, Any] | None, key: str, unit: str) -> str:
    """Seconds as ``wall (cpu)``; memory in MB."""
    if row is None or key not in row:
        return "-"
    if unit == "MB":
        return f"{row[key]:.0f} MB"
    cpu_key = key.removesuffix("_s") + "_cpu_s"
    return f"{row[key]:.2f} ({row.get(cpu_key, float('nan')):.2f})"


def table(row: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """Before/after lines for the times and memory, then the size of each file."""
    head = f"{'seconds: wall (cpu)':<28} {'before':>14} {'after':>14}"
    lines = [head, "-" * len(head)]
    lines += [f"{label:<28} {_cell(baseline, key, unit):>14} {_cell(row, key, unit):>14}"
              for label, key, unit in ROWS]
    old_files = baseline.get("file_bytes", {}) if baseline else {}
    for name in sorted(set(row["file_bytes"]) | set(old_files)):
        before = f"{old_files[name] / 1e6:.2f} MB" if name in old_files else "-"
        after = (f"{row['file_bytes'][name] / 1e6:.2f} MB" if name in row["file_bytes"]
                 else "-")
        lines.append(f"{'file ' + name:<28} {before:>14} {after:>14}")
    return "\n".join(lines)


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("size", "steps", "batch", "input_rate", "chips")
    return all(a.get(k) == b.get(k) for k in keys)


def load_baseline(path: Path, row: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline saved in ``path`` for the same configuration, if any."""
    if not path.is_file():
        return None
    baseline = json.loads(path.read_text()).get("baseline")
    return baseline if baseline and _same_config(baseline, row) else None


def save(path: Path, row: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "processor": platform.processor(), "seed": SEED, "target": TARGET}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "baseline": baseline, "result": row},
                               indent=2) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="neurons per layer")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.01, help="input spike probability")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best of each is kept")
    parser.add_argument("--chips", type=int, default=4, help="chips in the loihi2 copy")
    parser.add_argument("--profile", action="store_true", help="print cProfile top functions")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to save results")
    parser.add_argument("--save-baseline", action="store_true",
                        help="store this run as the baseline in --json (run on older code)")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stage:
        return run_stage_here(args)
    row = measure(args)
    if args.save_baseline:
        save(args.json, row, row)
        print(table(row, None))
        print(f"\nsaved baseline in {args.json}")
        return 0
    baseline = load_baseline(args.json, row)
    print(table(row, baseline))
    if baseline is not None or not args.json.exists():
        save(args.json, row, baseline)
        print(f"\nsaved {args.json}")
    else:
        print(f"\n{args.json} holds another configuration; not overwritten (use --json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
