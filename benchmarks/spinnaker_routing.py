"""Router entries per chip before and after compression, on the digits example and random
networks compiled for a SpiNNaker target (``docs/spinnaker.md`` quotes the numbers).

    python benchmarks/spinnaker_routing.py [--target spinnaker1] [--mapping sequential]

Cases: the shipped digits network; ``random``: 12 populations of 1024 neurons, each fed by the
one before and by every earlier one with probability 0.3, 1 % dense; ``random-24``: 24 such
populations, 0.2 % dense; ``band``: 24 populations of 1024 fed by the input and the one
before through a band of width 16 (each slice reaches only its neighbours' cores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import neurocc
from neurocc.compiler.graph import Graph, Population, Projection

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits" / "digits_lif.nir"
LIF = {"tau_s": 0.02, "v_threshold": 1.0}


def _populations(count: int, size: int) -> tuple[list[str], dict[str, Population]]:
    names = ["in"] + [f"p{i}" for i in range(count - 1)]
    pops = {"in": Population("in", "input", (size,))}
    pops.update({n: Population(n, "lif", (size,), LIF, "to_value") for n in names[1:]})
    return names, pops


def random_network(seed: int, count: int, size: int, density: float, p_proj: float = 0.3
                   ) -> Graph:
    rng = np.random.default_rng(seed)
    names, pops = _populations(count, size)
    projs = {}
    for j in range(1, count):
        for i in [i for i in range(j) if i == j - 1 or rng.random() < p_proj]:
            weight = rng.random((size, size)) * (rng.random((size, size)) < density)
            projs[f"{i}_{j}"] = Projection(f"{i}_{j}", names[i], names[j], weight, np.asarray(1))
    return Graph(1e-3, pops, projs, ("in",), (names[-1],))


def band_network(count: int, size: int, width: int) -> Graph:
    names, pops = _populations(count, size)
    index = np.arange(size)
    weight = (np.abs(index[:, None] - index[None, :]) < width) * 0.1
    projs = {}
    for j in range(1, count):
        for i in sorted({0, j - 1}):
            projs[f"{i}_{j}"] = Projection(f"{i}_{j}", names[i], names[j], weight, np.asarray(1))
    return Graph(1e-3, pops, projs, ("in",), (names[-1],))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="spinnaker1")
    parser.add_argument("--mapping", default="sequential", choices=("sequential", "traffic"))
    args = parser.parse_args()
    target = args.target
    cases = {"digits": lambda: neurocc.load(DIGITS),
             "random": lambda: random_network(0, 12, 1024, 0.01),
             "random-24": lambda: random_network(0, 24, 1024, 0.002),
             "band": lambda: band_network(24, 1024, 16)}
    print("case       cores chips  entries before -> after (max per chip)  default-routed  s")
    for name, build in cases.items():
        start = time.perf_counter()
        artifact = neurocc.compile(build(), target, mapping=args.mapping)
        record = next(r for r in artifact.graph.history if r.name == "spinnaker.route").details
        chips = artifact.layout["routing"]["chips"]
        print(f"{name:10} {len(artifact.layout['cores']):5} {record['chips_routed']:5}  "
              f"{record['entries_before']:6} -> {record['entries_after']:5} "
              f"({record['max_entries_before']} -> {record['max_entries_after']})"
              f"{sum(c['default_routed'] for c in chips):16}  "
              f"{time.perf_counter() - start:.1f}")


if __name__ == "__main__":
    main()
