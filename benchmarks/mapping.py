"""Traffic-aware mapping against PACMAN's sequential baseline on SpiNNaker (issue 14).

    python benchmarks/mapping.py [--target spinnaker1] [--scale 0.65] [--quick]

Per network and mapping: cores, chips, multicast traffic (sum over source neurons of the
distinct cores their synapses reach: the issue's metric), core deliveries (what the routers
deliver: per sending neuron, every destination core of its *core*, since routes are per core),
spike-hops (per sending neuron, the mesh links of its core's multicast tree), the fullest
chip's routing table after compression, and the time to partition and place (wall clock and
this process's CPU time, which is the fair figure on a shared host; us/syn is CPU time per
synapse), and to compile in all. Rates are uniform: every figure is per one spike of every
neuron (docs/spinnaker.md).

Networks:

* ``synfire``: a synfire chain of 50 groups of 100 LIF neurons in one population, group g ->
  g + 1 all to all, neurons numbered group by group (as one would write it);
* ``synfire-shuffled``: the same chain with its neurons numbered in a random order (as an
  exported or pruned network may come);
* ``digits``: the shipped 64-100-10 digits SNN (``examples/digits``);
* ``random``: a random sparse recurrent net, 5,000 LIF neurons, 2 % dense, plus a 100-neuron
  input;
* ``microcircuit``: a Potjans-Diesmann-style cortical microcircuit scaled to ``--scale`` of its
  77,169 neurons (default 0.65: 50,160 neurons) with the published connection probabilities
  (Potjans & Diesmann 2014, Table 5) and the in-degrees scaled by ``--indegree`` (default
  0.005, ~1 M synapses), as sparse CSR projections, and its thalamic input.

The ``spynnaker`` rows are sPyNNaker's own mapping of the exported PyNN script on a virtual
board (``backends/spinnaker/spynnaker_mapping.py``; needs ``make spynnaker``): its cores (its
own system cores left out), chips, routing entries after its compression and its
``mapping_s``. sPyNNaker reports no traffic or hops, so those cells are empty; a network the
PyNN export refuses (a model sPyNNaker lacks) or sPyNNaker fails on is noted, not fatal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import potjans_diesmann  # beside this script
import scipy.sparse as sp

import neurocc
from neurocc.backends.spinnaker import compile as stage
from neurocc.compiler.graph import Graph, Population, Projection

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits" / "digits_lif.nir"
RESULTS = ROOT / "benchmarks" / "results" / "mapping.json"
LIF = {"tau_s": 0.01, "v_threshold": 1.0}
PARTITION = stage.partition

# >>> sPyNNaker's own mapping: graph -> {"cores", "multicast_traffic", ...} or None.
# The lead plugs in the PyNN-export helper's function here (virtual board, no chip needed).
SPYNNAKER_TIMEOUT_S = 1800


def spynnaker_row(graph: Graph, target: str) -> dict[str, Any] | None:
    """sPyNNaker's mapping of the network's PyNN export, in this table's keys (None cells for
    what it does not report), or None when its environment is missing."""
    from neurocc.backends.spinnaker.spynnaker_mapping import spynnaker_available, spynnaker_mapping
    from neurocc.compiler.errors import NeuroccError

    if not spynnaker_available():
        return None
    try:
        artifact = neurocc.compile(graph, target, mapping="sequential")
        found = spynnaker_mapping(artifact, timeout_s=SPYNNAKER_TIMEOUT_S)
    except (NeuroccError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"cores": found["cores"], "chips": found["chips"], "multicast_traffic": None,
            "core_deliveries": None, "spike_hops": None,
            "max_routing_entries": found["routing_entries_max"],
            "routing_entries": found["routing_entries_total"], "map_s": found["mapping_s"],
            "map_cpu_s": None, "compile_s": None}


SPYNNAKER_MAPPING: Callable[[Graph, str], dict[str, Any] | None] | None = spynnaker_row

# Potjans & Diesmann (2014): sizes, connection probabilities (rows target, columns source),
# thalamic population and its connection probabilities.
PD_NAMES, PD_SIZES, PD_PROB = potjans_diesmann.NAMES, potjans_diesmann.SIZES, \
    potjans_diesmann.PROBABILITIES
PD_THALAMUS, PD_THALAMIC_PROB = potjans_diesmann.THALAMUS, potjans_diesmann.THALAMIC_PROBABILITIES


def synfire(groups: int = 50, size: int = 100, shuffle: bool = False) -> Graph:
    n = groups * size
    group = np.arange(n) // size
    if shuffle:
        group = np.random.default_rng(0).permutation(group)
    post, pre = np.nonzero(group[:, None] == group[None, :] + 1)
    weight = sp.csr_array((np.full(post.size, 0.02), (post, pre)), shape=(n, n))
    kick = sp.csr_array(np.where(group[:, None] == 0, 2.0, 0.0) * np.ones((1, size)))
    pops = {"in": Population("in", "input", (size,)),
            "chain": Population("chain", "lif", (n,), LIF, "to_value")}
    projs = {"kick": Projection("kick", "in", "chain", kick, np.asarray(1)),
             "next": Projection("next", "chain", "chain", weight, np.asarray(1))}
    return Graph(1e-3, pops, projs, ("in",), ("chain",))


def _random_csr(rng: np.random.Generator, n_post: int, n_pre: int, p: float, sign: float
                ) -> sp.csr_array:
    count = rng.binomial(n_post * n_pre, p)
    flat = np.unique(rng.integers(0, n_post * n_pre, size=count))
    values = sign * rng.uniform(0.01, 0.05, size=flat.size)
    return sp.csr_array((values, (flat // n_pre, flat % n_pre)), shape=(n_post, n_pre))


def random_recurrent(n: int = 5_000, n_in: int = 100, density: float = 0.02) -> Graph:
    rng = np.random.default_rng(0)
    pops = {"in": Population("in", "input", (n_in,)),
            "rec": Population("rec", "lif", (n,), LIF, "to_value")}
    rec = _random_csr(rng, n, n, density, 1.0)
    rec.data[rng.random(rec.data.size) < 0.2] *= -4.0  # a fifth inhibitory
    projs = {"in_rec": Projection("in_rec", "in", "rec", _random_csr(rng, n, n_in, 0.1, 1.0),
                                  np.asarray(1)),
             "rec_rec": Projection("rec_rec", "rec", "rec", rec, np.asarray(1))}
    return Graph(1e-3, pops, projs, ("in",), ("rec",))


def microcircuit(scale: float, indegree: float) -> Graph:
    rng = np.random.default_rng(0)
    sizes = {n: max(round(s * scale), 1) for n, s in zip(PD_NAMES, PD_SIZES, strict=True)}
    pops = {"th": Population("th", "input", (max(round(PD_THALAMUS * scale), 1),))}
    pops.update({n: Population(n, "lif", (s,), LIF, "to_value") for n, s in sizes.items()})
    projs = {}
    for i, target in enumerate(PD_NAMES):
        sources = [*zip(PD_NAMES, PD_PROB[i], strict=True), ("th", PD_THALAMIC_PROB[i])]
        for source, prob in sources:
            if prob == 0.0:
                continue
            # the in-degree scales with the full model's source size, then by `indegree`
            full = PD_THALAMUS if source == "th" else PD_SIZES[PD_NAMES.index(source)]
            n_pre = pops[source].size
            p = min(prob * full * indegree / n_pre, 1.0)
            sign = -4.0 if source.endswith("i") else 1.0
            name = f"{source}_{target}"
            projs[name] = Projection(name, source, target,
                                     _random_csr(rng, sizes[target], n_pre, p, sign),
                                     np.asarray(1))
    return Graph(1e-3, pops, projs, ("th",), ("L5e",))


def _synapses(graph: Graph) -> int:
    return sum(int(p.coo()[0].size) for p in graph.projections.values())


def measure(graph: Graph, target: str, mapping: str) -> dict[str, Any]:
    """Compile once; the partition-and-place step is timed by wrapping it for this call."""
    timer: dict[str, float] = {}

    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        out = PARTITION(*args, **kwargs)
        timer["map_s"] = time.perf_counter() - start
        timer["map_cpu_s"] = time.process_time() - cpu  # this process's CPU: fair on a busy host
        return out

    start = time.perf_counter()
    stage.partition = timed
    try:
        artifact = neurocc.compile(graph, target, mapping=mapping)
    finally:
        stage.partition = PARTITION
    compile_s = time.perf_counter() - start
    records = {r.name: r.details for r in artifact.graph.history}
    placed, routed = records["spinnaker.map"], records["spinnaker.route"]
    return {"cores": placed["cores"], "chips": placed["chips"],
            "multicast_traffic": placed["multicast_traffic"],
            "core_deliveries": routed["core_deliveries"], "spike_hops": routed["spike_hops"],
            "max_routing_entries": routed["max_entries_after"],
            "routing_entries": routed["entries_after"], "map_s": timer["map_s"],
            "map_cpu_s": timer["map_cpu_s"], "compile_s": compile_s}


def _cell(value: Any, pattern: str = ",") -> str:
    return "" if value is None else format(value, pattern)


def _row_cells(m: dict[str, Any], synapses: int, base: int, mapping: str) -> list[str]:
    ratio = (f" ({m['multicast_traffic'] / base:.2f}x)" if mapping == "traffic" else "")
    cpu = m["map_cpu_s"]
    per_synapse = "" if cpu is None else f"{cpu / max(synapses, 1) * 1e6:.2f}"
    map_s = f"{m['map_s']:.2f}" + ("" if cpu is None else f" ({cpu:.2f})")
    return [str(m["cores"]), str(m["chips"]), _cell(m["multicast_traffic"]) + ratio,
            _cell(m["core_deliveries"]), _cell(m["spike_hops"]), str(m["max_routing_entries"]),
            map_s, per_synapse]


def markdown(paths: list[Path]) -> str:
    """The docs table from saved results (``--table``)."""
    lines = ["| network (neurons, synapses) | mapping | cores | chips | traffic | deliveries | "
             "hops | max entries | map s (CPU) | us/synapse (CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        for name, row in json.loads(path.read_text())["networks"].items():
            for mapping in ("sequential", "traffic", "spynnaker"):
                m = row[mapping]
                head = (f"{name} ({row['neurons']:,}, {row['synapses']:,})"
                        if mapping == "sequential" else "")
                if m is None or "error" in m:
                    why = "not installed" if m is None else m["error"][:80]
                    lines.append(f"| {head} | sPyNNaker | ({why}) | | | | | | | |")
                    continue
                base = max(row["sequential"]["multicast_traffic"], 1)
                cells = _row_cells(m, row["synapses"], base, mapping)
                lines.append(f"| {head} | {mapping} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="spinnaker1")
    parser.add_argument("--scale", type=float, default=0.65,
                        help="microcircuit size against the full 77,169 neurons")
    parser.add_argument("--indegree", type=float, default=0.005,
                        help="microcircuit in-degrees against the full model's")
    parser.add_argument("--quick", action="store_true", help="a 0.1-scale microcircuit")
    parser.add_argument("--only", nargs="*", default=None, help="network names to run")
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="the JSON file")
    parser.add_argument("--table", nargs="+", type=Path, default=None,
                        help="print the markdown table of saved JSON results and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown(args.table))
        return
    cases: dict[str, Callable[[], Graph]] = {
        "synfire": synfire, "synfire-shuffled": lambda: synfire(shuffle=True),
        "digits": lambda: neurocc.load(DIGITS), "random": random_recurrent,
        "microcircuit": lambda: microcircuit(0.1 if args.quick else args.scale,
                                             args.indegree)}
    rows: dict[str, Any] = {}
    print(f"{'network':17}{'neurons':>8}{'synapses':>10}  {'mapping':11}{'cores':>6}"
          f"{'chips':>6}{'traffic':>10}{'deliver':>10}{'hops':>9}{'max ent':>8}"
          f"{'map s':>7}{'cpu s':>7}{'us/syn':>7}", flush=True)
    for name, build in cases.items():
        if args.only and name not in args.only:
            continue
        graph = build()
        neurons = sum(p.size for p in graph.populations.values())
        synapses = _synapses(graph)
        row: dict[str, Any] = {"neurons": neurons, "synapses": synapses}
        for mapping in ("sequential", "traffic"):
            row[mapping] = measure(graph, args.target, mapping)
        row["spynnaker"] = SPYNNAKER_MAPPING(graph, args.target) if SPYNNAKER_MAPPING else None
        base = row["sequential"]
        row["traffic_ratio"] = row["traffic"]["multicast_traffic"] / max(
            base["multicast_traffic"], 1)
        rows[name] = row
        for mapping in ("sequential", "traffic", "spynnaker"):
            m = row[mapping]
            if m is None or "error" in m:
                print(f"{'':35}{mapping:11}  ({'not installed' if m is None else m['error']})",
                      flush=True)
                continue
            cells = _row_cells(m, synapses, max(row["sequential"]["multicast_traffic"], 1),
                               mapping)
            print(f"{name if mapping == 'sequential' else '':17}"
                  f"{neurons if mapping == 'sequential' else '':>8}"
                  f"{synapses if mapping == 'sequential' else '':>10}  {mapping:11}"
                  + "".join(f"{c:>10}" for c in cells), flush=True)
        print(f"{'':35}traffic / sequential = {row['traffic_ratio']:.2f}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"target": args.target, "rates": "uniform",
                                   "microcircuit": {"scale": 0.1 if args.quick else args.scale,
                                                    "indegree": args.indegree},
                                   "networks": rows}, indent=2) + "\n")
    print(f"saved {args.output}", flush=True)


if __name__ == "__main__":
    main()
