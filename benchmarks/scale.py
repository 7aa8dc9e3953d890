"""Scale: compile and simulate sparse networks of 10 k to 1 M neurons (issue 19).

Networks (YAML frontend, ``fixed_probability`` rule: CSR throughout):

- ``random_N``: an input population of N spike sources -> N ``lif`` neurons, each
  with on average ``SYNAPSES_PER_NEURON`` synapses (p = 100 / N), weights normal(1 mV,
  0.5 mV), threshold 10 mV. The input drives every synapse, so input spikes at
  ``ACTIVITY`` (1 %) give ``ACTIVITY * synapses`` synaptic events per step exactly.
- ``microcircuit``: the Potjans & Diesmann (2014) cortical microcircuit's 8 populations
  at full size (77 169 neurons) and its connection probabilities scaled by
  ``MICROCIRCUIT_P_SCALE`` (0.1: ~30 M of the full ~0.3 G synapses, so that it fits the
  shared machine's memory), inhibitory weights -4x excitatory, 1 ms delays, and a
  thalamic-style input population of 902 sources (p = 0.05) into every layer.

Per family (``loihi2`` with enough chips: a copy made with
``neurocc.backends.derive_target``; ``spinnaker2``), each case runs in its own Python
process (peak ``ru_maxrss`` is its own, like ``lsm_build.py``) and reports: build time,
compile time split by stage (functions of the family's compiler wrapped with a timer),
artifact write/read time and size on disk, the exact engine's time per step and synaptic
events per second over ``STEPS`` steps at 1 % input activity (one batch; the time inside
the engine's stepping loop, without reading the network and building the weight blocks),
and peak RSS after each stage.

    python benchmarks/scale.py [--cases NAME ...] [--families NAME ...] [--json PATH]

Crossbar family (``rram256k``, 4 arrays of 256 x 256): a random network's synapses fall
into nearly every tile, so for the random cases and the microcircuit the script only counts
the arrays they would need (``tiles_needed``) against that chip. It maps the block-structured
``band_N`` cases (input N -> N ``lif``, ``distance_dependent`` on one dimension: c = 1,
lambda = ``BAND_LAMBDA``, ~100 synapses per neuron within a few hundred neurons of the
diagonal) onto a copy with exactly the arrays they need (``derive_target("rram256k",
tiles_per_chip=N)``) and runs its analog engine for ``CROSSBAR_STEPS`` steps (step time:
the run without programming the arrays).

Default cases: random_10k, random_100k, microcircuit, band_10k, band_100k (the band cases
for the crossbar family only, unless ``--band-all-families``). ``random_1M`` runs only when
named (minutes, several GiB). Results go to ``results/scale.json`` and print as a table;
the slope (seconds and MB per million synapses) is fitted over the random cases.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import potjans_diesmann  # beside this script
import yaml

DEFAULT_JSON = Path(__file__).parent / "results" / "scale.json"
SYNAPSES_PER_NEURON = 100
ACTIVITY = 0.01
STEPS = 100
MICROCIRCUIT_P_SCALE = 0.1
# Potjans & Diesmann (2014), table 5 (benchmarks/potjans_diesmann.py)
PD_NAMES, PD_SIZES, PD_P = potjans_diesmann.NAMES, potjans_diesmann.SIZES, \
    potjans_diesmann.PROBABILITIES
PD_THALAMIC = potjans_diesmann.THALAMUS
CASES = {"random_10k": 10_000, "random_100k": 100_000, "random_1M": 1_000_000,
         "microcircuit": sum(PD_SIZES), "band_10k": 10_000, "band_100k": 100_000}
DEFAULT_CASES = ("random_10k", "random_100k", "microcircuit", "band_10k", "band_100k")
# loihi2 holds 128 cores per chip; these copies have room for every case (cores are
# limited by the 4096 input axons per core: ~40 neurons of 100 random sources each)
# (1 M inputs + 1 M neurons); spinnaker2 is one chip of 151 cores x 256 neurons: the copy is
# a 16 x 16 mesh
FAMILIES = {"loihi2": ("loihi2", {"chips": 512}),
            "spinnaker2": ("spinnaker2", {"chips_x": 16, "chips_y": 16}),
            "crossbar": ("rram256k", {})}  # tiles_per_chip: sized per case (crossbar_target)
# the compiler functions timed as stages, per family: (module, attribute, stage name)
STAGES = {
    "loihi": [("neurocc.backends.loihi.compile", "quantize_network", "quantize"),
              ("neurocc.backends.loihi.compile", "lava_delays", "timing"),
              ("neurocc.backends.loihi.compile", "map_network", "partition_place_route"),
              ("neurocc.backends.loihi.compile", "write_compiled", "section")],
    "spinnaker": [("neurocc.backends.spinnaker.compile", "synapse_table", "synapse_tables"),
                  ("neurocc.backends.spinnaker.compile", "shifts", "quantize"),
                  ("neurocc.backends.spinnaker.compile", "weight_words", "quantize"),
                  ("neurocc.backends.spinnaker.compile", "partition", "partition"),
                  ("neurocc.backends.spinnaker.compile", "_projection_arrays", "sections"),
                  ("neurocc.backends.spinnaker.compile", "traffic", "traffic_record"),
                  ("neurocc.backends.spinnaker.routing", "route", "route")],
    "crossbar": [("neurocc.backends.crossbar.mapping", "plan", "count"),
                 ("neurocc.backends.crossbar.mapping", "tiles_of", "tiles")],
    "loihi_engine": [("neurocc.sim.loihi.engine", "_run_component", "steps")],
    "crossbar_engine": [("neurocc.sim.crossbar.engine", "program", "program")],
    "spinnaker_engine": [("neurocc.sim.spinnaker.engine", "_steps", "steps")],
}


def _network(name: str, seed: int, populations: list[dict[str, Any]],
             projections: list[dict[str, Any]], outputs: list[str]) -> str:
    return yaml.safe_dump({"kind": "network", "name": name, "dt": "1 ms", "seed": seed,
                           "voltage_unit": "mV", "populations": populations,
                           "projections": projections, "outputs": outputs}, sort_keys=False)


def _random(p: float) -> dict[str, Any]:
    return {"rule": "fixed_probability", "p": float(p)}


def random_yaml(n: int) -> str:
    """input (n) -> hidden (n lif), p = SYNAPSES_PER_NEURON / n."""
    pops = [{"name": "stim", "model": "input", "shape": n},
            {"name": "hidden", "model": "lif", "shape": n,
             "params": {"tau": "20 ms", "v_threshold": "10 mV", "v_reset": "0 mV"}}]
    projs = [{"name": "drive", "source": "stim", "target": "hidden",
              "connect": _random(SYNAPSES_PER_NEURON / n),
              "weight": {"distribution": "normal", "mean": "1 mV", "std": "0.5 mV"}}]
    return _network(f"random_{n}", 1, pops, projs, ["hidden"])


def microcircuit_yaml(p_scale: float = MICROCIRCUIT_P_SCALE) -> str:
    """The Potjans-Diesmann populations and scaled probabilities (module docstring)."""
    lif = {"tau": "10 ms", "v_threshold": "15 mV", "v_reset": "0 mV"}
    pops = [{"name": "thalamus", "model": "input", "shape": PD_THALAMIC}]
    pops += [{"name": name, "model": "lif", "shape": size, "params": lif}
             for name, size in zip(PD_NAMES, PD_SIZES, strict=True)]
    projs = []
    for post, row in zip(PD_NAMES, PD_P, strict=True):
        projs.append({"name": f"th_{post}", "source": "thalamus", "target": post,
                      "connect": _random(0.05),
                      "weight": {"distribution": "normal", "mean": "1 mV", "std": "0.1 mV"}})
        for pre, p in zip(PD_NAMES, row, strict=True):
            if p == 0:
                continue
            mean = 0.5 if pre.endswith("E") else -2.0
            projs.append({"name": f"{pre}_{post}", "source": pre, "target": post,
                          "connect": _random(p * p_scale), "delay": "1 ms",
                          "weight": {"distribution": "normal", "mean": f"{mean} mV",
                                     "std": f"{abs(mean) / 10} mV"}})
    return _network("microcircuit", 2, pops, projs, list(PD_NAMES))


# crossbar (block-structured) cases: lambda for ~SYNAPSES_PER_NEURON synapses per neuron
# (sum over d of exp(-(d / lambda)^2) = lambda sqrt(pi)); the crossbar engine's step costs
# ~0.2-1 ms per array read (nearly every array is read at 1 %), so it runs fewer steps
BAND_LAMBDA = SYNAPSES_PER_NEURON / float(np.sqrt(np.pi))
CROSSBAR_STEPS = 20
BAND_CASES = ("band_10k", "band_100k")


def band_yaml(n: int) -> str:
    """input (n) -> hidden (n lif), each pair with p = exp(-(|i - j| / BAND_LAMBDA)^2)."""
    pops = [{"name": "stim", "model": "input", "shape": n},
            {"name": "hidden", "model": "lif", "shape": n,
             "params": {"tau": "20 ms", "v_threshold": "10 mV", "v_reset": "0 mV"}}]
    projs = [{"name": "drive", "source": "stim", "target": "hidden",
              "connect": {"rule": "distance_dependent", "c": 1.0, "lambda": BAND_LAMBDA},
              "weight": {"distribution": "normal", "mean": "1 mV", "std": "0.5 mV"}}]
    return _network(f"band_{n}", 3, pops, projs, ["hidden"])


def case_yaml(case: str) -> str:
    if case == "microcircuit":
        return microcircuit_yaml()
    return band_yaml(CASES[case]) if case in BAND_CASES else random_yaml(CASES[case])


def crossbar_target(graph: Any) -> Any:
    """A copy of ``rram256k`` with exactly the arrays ``graph`` needs (at least its own)."""
    from neurocc.backends import derive_target, load_target
    from neurocc.backends.crossbar.mapping import tiles_needed
    base = load_target(FAMILIES["crossbar"][0])
    return derive_target(base, tiles_per_chip=max(tiles_needed(graph, base),
                                                  int(base.tiles_per_chip)))


def crossbar_count_here(case: str) -> dict[str, Any]:
    """The arrays a case needs on the crossbar chip, counted without mapping (random cases
    and the microcircuit: their synapses fall into nearly every tile)."""
    from neurocc.backends import load_target
    from neurocc.backends.crossbar.mapping import split_sizes, tiles_needed
    from neurocc.frontends.yaml import read_network_yaml

    with tempfile.TemporaryDirectory(prefix="neurocc-scale-") as work:
        source = Path(work) / "net.yaml"
        source.write_text(case_yaml(case))
        start = time.perf_counter()
        graph = read_network_yaml(source)
        build_s = time.perf_counter() - start
        spec = load_target(FAMILIES["crossbar"][0])
        start = time.perf_counter()
        needed = tiles_needed(graph, spec)
        count_s = time.perf_counter() - start
        grid = sum(len(split_sizes(p.shape[1], spec.rows))
                   * len(split_sizes(p.shape[0], spec.cols // 2))
                   for p in graph.projections.values())
        return {"case": case, "family": "crossbar", "target": spec.name,
                "neurons": sum(p.size for p in graph.populations.values()
                               if p.model != "input"),
                "synapses": graph.synapse_count(), "build_s": build_s, "count_s": count_s,
                "tiles_needed": needed, "tiles_in_grid": grid,
                "tiles_per_chip": int(spec.tiles_per_chip), "peak_rss_mb": _rss_mb(),
                "note": f"not mapped: needs {needed:,} arrays of {spec.rows} x {spec.cols} "
                        f"({needed / grid:.0%} of its {grid:,} tiles hold a synapse), "
                        f"{spec.name} has {int(spec.tiles_per_chip)} (counted in "
                        f"{count_s:.1f} s)"}


def crossbar_use(artifact: Any) -> dict[str, Any]:
    """A crossbar artifact's arrays and the share of their cells that hold a weight."""
    if artifact.family != "crossbar":
        return {}
    used = artifact.layout["resources"]
    weights = sum(int(np.count_nonzero(c)) for c in artifact.sections["crossbar"].values())
    return {"arrays": used["tiles"]["used"],
            "cell_utilisation": weights / max(used["cells_in_used_tiles"]["used"] // 2, 1)}


@contextlib.contextmanager
def stage_timer(family: str, times: dict[str, float]) -> Iterator[None]:
    """Wrap the family's stage functions so their wall time adds up in ``times``."""
    saved: list[tuple[Any, str, Callable[..., Any]]] = []

    def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
        return run

    for module_name, attribute, stage in STAGES[family]:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        saved.append((module, attribute, original))
        setattr(module, attribute, timed(stage, original))
    try:
        yield
    finally:
        for module, attribute, original in reversed(saved):
            setattr(module, attribute, original)


def _rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_case_here(case: str, family: str, steps: int) -> dict[str, Any]:
    """Build, compile, write, read and simulate one case in this process."""
    import neurocc
    from neurocc.backends import derive_target
    from neurocc.backends.artifact import read_artifact, write_artifact
    from neurocc.frontends.yaml import read_network_yaml

    work = Path(tempfile.mkdtemp(prefix="neurocc-scale-"))
    try:
        source = work / "net.yaml"
        source.write_text(case_yaml(case))
        start = time.perf_counter()
        graph = read_network_yaml(source)
        build_s = time.perf_counter() - start
        rss = {"build": _rss_mb()}
        synapses = graph.synapse_count()
        base, changes = FAMILIES[family]
        target = derive_target(base, **changes) if changes else base
        if family == "crossbar":
            target = crossbar_target(graph)
            steps = min(steps, CROSSBAR_STEPS)
        stages: dict[str, float] = {}
        spec_family = family if family == "crossbar" else \
            "loihi" if family.startswith("loihi") else "spinnaker"
        start = time.perf_counter()
        with stage_timer(spec_family, stages):
            artifact = neurocc.compile(graph, target)
        compile_s = time.perf_counter() - start
        rss["compile"] = _rss_mb()
        del graph
        start = time.perf_counter()
        write_artifact(artifact, work / "art")
        write_s = time.perf_counter() - start
        rss["write"] = _rss_mb()
        size_mb = _du(work / "art") / 2**20
        del artifact
        start = time.perf_counter()
        artifact = read_artifact(work / "art")
        read_s = time.perf_counter() - start
        rss["read"] = _rss_mb()
        rng = np.random.default_rng(0)
        n_in = artifact.graph.n_inputs
        spikes = (rng.random((1, steps, n_in)) < ACTIVITY).astype(np.uint8)
        # the time inside the stepping loop (events delivered, neurons updated), without
        # reading the network and building the weight blocks (crossbar: the run without
        # programming the arrays), nor compiling the SpiNNaker engine's kernels (a small
        # network runs first)
        if spec_family == "spinnaker":
            _warm_up(target)
        steps_s: dict[str, float] = {}
        with stage_timer(spec_family + "_engine", steps_s):
            start = time.perf_counter()
            result = neurocc.simulate(artifact, spikes)
            run_s = time.perf_counter() - start
        # every synaptic event the engine delivered (recurrent ones too)
        events = int(result.counters.get("synops", _input_events(artifact.graph, spikes)))
        sim_s = steps_s.get("steps", run_s - steps_s.get("program", 0.0))
        rss["simulate"] = _rss_mb()
        return {"case": case, "family": family, "target": str(getattr(target, "name", target)),
                "neurons": sum(p.size for p in artifact.graph.populations.values()
                               if p.model != "input"),
                "inputs": n_in, "synapses": synapses, "build_s": build_s,
                "compile_s": compile_s, "stages_s": stages, "write_s": write_s,
                "read_s": read_s, "artifact_mb": size_mb, "steps": steps,
                "sim_s_per_step": sim_s / steps, "sim_run_s": run_s, "events": events,
                "events_per_s": events / sim_s,
                "peak_rss_mb": _rss_mb(), "peak_rss_mb_after": rss,
                **crossbar_use(artifact)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _warm_up(target: Any) -> None:
    """Simulate a small random network on ``target`` so that the engine's compiled kernels
    are loaded (or compiled) before the timed run."""
    import neurocc
    from neurocc.frontends.yaml import read_network_yaml

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "net.yaml"
        source.write_text(random_yaml(SYNAPSES_PER_NEURON * 2))
        artifact = neurocc.compile(read_network_yaml(source), target)
    spikes = np.ones((1, 2, artifact.graph.n_inputs), dtype=np.uint8)
    neurocc.simulate(artifact, spikes)


def _input_events(graph: Any, spikes: np.ndarray) -> int:
    """Synaptic events the input spikes cause: per input spike, its outgoing synapses (the
    count when an engine has no ``synops`` counter, which counts every event, recurrent ones
    too)."""
    counts = spikes.sum(axis=(0, 1)).astype(np.int64)
    offset, events = 0, 0
    for name in graph.inputs:
        size = graph.populations[name].size
        for proj in graph.outgoing(name):
            weight = proj.weight
            per_pre = (np.bincount(weight.indices, minlength=size) if proj.is_sparse
                       else np.count_nonzero(weight, axis=0))
            events += int(per_pre @ counts[offset:offset + size])
        offset += size
    return events


def run_case(case: str, family: str, steps: int, timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", case, family, "--steps", str(steps)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"case": case, "family": family, "peak_rss_mb": None,
                "error": f"not finished within {timeout_s:.0f} s (stopped)"}
    if done.returncode != 0:
        why = done.stderr.strip()[-2000:] or f"exit status {done.returncode} (killed?)"
        return {"case": case, "family": family, "error": why, "peak_rss_mb": None}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def slope(rows: list[dict[str, Any]], key: str) -> float | None:
    """Least-squares slope of ``key`` against synapses (per million) over the random cases."""
    points = [(r["synapses"] / 1e6, r[key]) for r in rows
              if r["case"].startswith("random") and "error" not in r and "note" not in r
              and r[key] is not None]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def slopes_of(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per family: seconds and MB per million synapses (compile, peak RSS, artifact)."""
    families = sorted({r["family"] for r in rows})
    return {family: {key: slope([r for r in rows if r["family"] == family], key)
                     for key in ("compile_s", "peak_rss_mb", "artifact_mb")}
            for family in families}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | family | neurons | synapses | build (s) | compile (s) | stages (s) | "
             "write / read (s) | artifact (MB) | step (ms) | events/s | peak RSS build / compile / "
             "all (MB) |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "note" in r:  # counted, not mapped (crossbar_count_here)
            lines.append(f"| {r['case']} | {r['family']} | {r['neurons']:,} | "
                         f"{r['synapses']:,} | {r['build_s']:.1f} | {r['note']} |")
            continue
        if "error" in r:
            lines.append(f"| {r['case']} | {r['family']} | failed: "
                         f"{r['error'].splitlines()[-1][:120]} |")
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages_s"].items())
        after = r["peak_rss_mb_after"]
        sim = ("not run | not run" if r["sim_s_per_step"] is None else
               f"{1e3 * r['sim_s_per_step']:.1f} | {r['events_per_s']:.2e}")
        family = r["family"] if "arrays" not in r else \
            f"{r['family']} ({r['arrays']:,} arrays, {r['cell_utilisation']:.0%} of cells used)"
        lines.append(f"| {r['case']} | {family} | {r['neurons']:,} | {r['synapses']:,} | "
                     f"{r['build_s']:.1f} | {r['compile_s']:.1f} | {stages} | "
                     f"{r['write_s']:.1f} / {r['read_s']:.1f} | {r['artifact_mb']:.0f} | "
                     f"{sim} | "
                     f"{after['build']:.0f} / {after['compile']:.0f} / "
                     f"{r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(DEFAULT_CASES))
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per case")
    parser.add_argument("--band-all-families", action="store_true",
                        help="run the band cases for every family, not only crossbar")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        case, family = args.one
        counted = family == "crossbar" and case not in BAND_CASES
        print(json.dumps(crossbar_count_here(case) if counted
                         else run_case_here(case, family, args.steps)))
        return 0
    load_before = os.getloadavg()[0]
    rows = []
    for case in args.cases:
        for family in args.families:
            if case in BAND_CASES and family != "crossbar" and not args.band_all_families:
                continue
            rows.append(run_case(case, family, args.steps, args.timeout))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    # the machine may be shared: the 1-minute load average says how much
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_1min": [load_before, os.getloadavg()[0]],
            "activity": ACTIVITY, "steps": args.steps,
            "microcircuit_p_scale": MICROCIRCUIT_P_SCALE, "families": FAMILIES}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.json.exists():  # keep rows of cases not rerun
        old = json.loads(args.json.read_text()).get("result", [])
        keep = [r for r in old if (r["case"], r["family"]) not in
                {(n["case"], n["family"]) for n in rows}]
        rows = keep + rows
    slopes = slopes_of(rows)
    print("slope per million synapses (random cases, with earlier rows):", json.dumps(slopes))
    args.json.write_text(json.dumps({"meta": meta, "slope_per_million_synapses": slopes,
                                     "result": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
