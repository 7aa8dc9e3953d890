"""sPyNNaker's own mapping (virtual board) next to neurocc's, on the networks of
``benchmarks/spinnaker_routing.py`` (``docs/spinnaker.md``, "PyNN export").

    python benchmarks/spynnaker_mapping.py [--target spinnaker1] [--cases digits random band]

Needs ``make spynnaker``. Per case: synapses; neurocc's cores, routing entries after
compression (summed over chips, fullest chip) and compile time; sPyNNaker's cores, entries
after and before its compression, ``mapping_s`` and the whole virtual run. Saves
``benchmarks/results/spynnaker_mapping.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from spinnaker_routing import DIGITS, band_network, random_network

import neurocc
from neurocc.backends.spinnaker.section import SECTION
from neurocc.backends.spinnaker.spynnaker_mapping import spynnaker_mapping

RESULTS = Path(__file__).resolve().parent / "results" / "spynnaker_mapping.json"
CASES = {"digits": lambda: neurocc.load(DIGITS),
         "random": lambda: random_network(0, 12, 1024, 0.01),
         "band": lambda: band_network(24, 1024, 16)}


def compare(name: str, target: str) -> dict[str, Any]:
    start = time.perf_counter()
    artifact = neurocc.compile(CASES[name](), target)
    compile_s = time.perf_counter() - start
    record = next(r for r in artifact.graph.history if r.name == "spinnaker.route").details
    synapses = sum(v.size for k, v in artifact.sections[SECTION].items()
                   if k.endswith("/weight"))
    start = time.perf_counter()
    found = spynnaker_mapping(artifact)
    wall_s = time.perf_counter() - start
    found.pop("detail")
    return {"synapses": synapses,
            "neurocc": {"cores": len(artifact.layout["cores"]),
                        "routing_entries_total": record["entries_after"],
                        "routing_entries_max": record["max_entries_after"],
                        "compile_s": compile_s},
            "spynnaker": {**found, "virtual_run_s": wall_s}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="spinnaker1")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    print("case      synapses | neurocc: cores entries (max) compile s | sPyNNaker: cores "
          "entries (max) before (max) mapping s run s")
    results = {}
    for name in args.cases:
        row = results[name] = compare(name, args.target)
        ours, theirs = row["neurocc"], row["spynnaker"]
        print(f"{name:9} {row['synapses']:9} | {ours['cores']:5} {ours['routing_entries_total']:5}"
              f" ({ours['routing_entries_max']}) {ours['compile_s']:6.1f} | {theirs['cores']:5}"
              f" {theirs['routing_entries_total']:5} ({theirs['routing_entries_max']})"
              f" {theirs['routing_entries_total_uncompressed']:5}"
              f" ({theirs['routing_entries_max_uncompressed']}) {theirs['mapping_s']:6.1f}"
              f" {theirs['virtual_run_s']:6.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"target": args.target, "cases": results}, indent=2,
                                  sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
