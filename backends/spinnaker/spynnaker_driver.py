"""Map an exported PyNN script with sPyNNaker on a virtual board and print what it built.

Runs in the sPyNNaker environment (``make spynnaker``: ``build/spynnaker-venv``), not in
neurocc's: it imports only numpy, sPyNNaker and the exported script (never ``neurocc``).
:func:`neurocc.backends.spinnaker.spynnaker_mapping.spynnaker_mapping` starts it.

    python spynnaker_driver.py NET.py --input IN.npz -o RESULT.json

The working directory must hold a ``spynnaker.cfg`` with ``virtual_board = True`` (and HOME
one, so sPyNNaker does not write its template into the real home). The script's own
functions build the network for one sample (``pynn_build``) and run it (``pynn_run``), which on a
virtual board maps, routes, compresses and generates data, then skips loading and running.
Timers wrap sPyNNaker's own stages: ``_do_mapping`` (partition, place, route, keys, tables)
and ``_do_early_compression`` (the table compressor the cfg names); the compressed tables
are taken from the latter's return value.
"""

from __future__ import annotations

import argparse
import json
import runpy
import time
from pathlib import Path
from typing import Any

import numpy as np


def _tables_summary(tables: Any) -> dict[str, Any]:
    """Entries per chip of a MulticastRoutingTables: max, total, chips."""
    counts = {f"{t.x},{t.y}": int(t.number_of_entries) for t in tables.routing_tables}
    return {"max_per_chip": max(counts.values(), default=0),
            "total": sum(counts.values()), "chips": len(counts), "per_chip": counts}


def _instrument(timings: dict[str, float], captured: dict[str, Any]) -> None:
    """Time sPyNNaker's mapping and compression stages and keep the compressed tables."""
    from spinn_front_end_common.interface.abstract_spinnaker_base import AbstractSpinnakerBase

    mapping = AbstractSpinnakerBase._do_mapping
    compression = AbstractSpinnakerBase._do_early_compression

    def timed_mapping(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return mapping(self, *args, **kwargs)
        finally:
            timings["mapping_s"] = timings.get("mapping_s", 0.0) + time.perf_counter() - start

    def timed_compression(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = compression(self, *args, **kwargs)
        finally:
            timings["compression_s"] = (timings.get("compression_s", 0.0)
                                        + time.perf_counter() - start)
        captured["compressed"] = result
        return result

    AbstractSpinnakerBase._do_mapping = timed_mapping
    AbstractSpinnakerBase._do_early_compression = timed_compression


def _placements() -> dict[str, Any]:
    """Cores sPyNNaker placed, per application vertex label."""
    from spynnaker.pyNN.data import SpynnakerDataView

    per_vertex: dict[str, int] = {}
    chips = set()
    for placement in SpynnakerDataView.iterate_placemements():
        app = placement.vertex.app_vertex
        label = app.label if app is not None else placement.vertex.label
        per_vertex[str(label)] = per_vertex.get(str(label), 0) + 1
        chips.add((placement.x, placement.y))
    return {"cores": sum(per_vertex.values()), "chips": len(chips), "per_vertex": per_vertex}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", help="the exported PyNN script (net.py)")
    parser.add_argument("--input", required=True, help="npz with spikes (batch, T, n_in)")
    parser.add_argument("-o", "--output", required=True, help="JSON file to write")
    args = parser.parse_args()
    script = runpy.run_path(args.script, run_name="exported")
    timings: dict[str, float] = {}
    captured: dict[str, Any] = {}
    _instrument(timings, captured)
    with np.load(args.input, allow_pickle=False) as data:
        sample = np.asarray(data["spikes"])[0].astype(np.uint8)
    path = Path(args.script)
    desc, arrays = script["script_load_params"](path.with_name(path.stem + "_params.npz"))
    sim = script["pynn_simulator"]("spiNNaker")
    start = time.perf_counter()
    _, neurons = script["pynn_build"](sim, "spiNNaker", desc, arrays, sample)
    script["pynn_run"](sim, desc, neurons, sample.shape[0])
    timings["run_s"] = time.perf_counter() - start
    from spynnaker.pyNN.data import SpynnakerDataView

    result = {"placements": _placements(),
              "routing_uncompressed": _tables_summary(SpynnakerDataView.get_uncompressed()),
              "routing_compressed": _tables_summary(captured["compressed"]),
              "timings": timings}
    sim.end()
    with open(args.output, "w") as handle:
        json.dump(result, handle, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
