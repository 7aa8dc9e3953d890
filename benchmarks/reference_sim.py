"""Time the float reference engine on a random recurrent network.

Run: ``.venv/bin/python benchmarks/reference_sim.py [--batch B] [--steps T] [--hidden N]``.
Prints steps per second and the counters; the network and inputs are seeded.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.reference import run_graph

DT_S = 1e-3
TAU_SYN_S = 5e-3
TAU_MEM_S = 10e-3
N_INPUTS = 700  # the size of the SHD audio benchmark's input
N_OUTPUTS = 20
INPUT_RATE = 0.05  # spike probability per input neuron and step
RECURRENT_DENSITY = 0.1
MAX_RECURRENT_DELAY_STEPS = 8
SEED = 0


def network(n_hidden: int, rng: np.random.Generator) -> Graph:
    """input -> CubaLIF (sparse recurrence with per-synapse delays) -> LI read-out."""
    w_rec = sp.random_array((n_hidden, n_hidden), density=RECURRENT_DENSITY, rng=rng,
                            format="csr", data_sampler=lambda size: rng.normal(0.0, 0.1, size))
    pops = [Population("in", "input", (N_INPUTS,)),
            Population("h", "cubalif", (n_hidden,), {"tau_syn_s": TAU_SYN_S,
                       "tau_mem_s": TAU_MEM_S, "v_threshold": 1.0}, reset="subtract"),
            Population("o", "li", (N_OUTPUTS,), {"tau_s": TAU_MEM_S})]
    projs = [Projection("in_h", "in", "h", rng.normal(0.0, 0.5, (n_hidden, N_INPUTS))),
             Projection("h_h", "h", "h", w_rec,
                        rng.integers(1, MAX_RECURRENT_DELAY_STEPS + 1, w_rec.nnz)),
             Projection("h_o", "h", "o", rng.normal(0.0, 0.3, (N_OUTPUTS, n_hidden)))]
    return Graph(DT_S, {p.name: p for p in pops}, {p.name: p for p in projs}, ("in",), ("o",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--hidden", type=int, default=512)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    graph = network(args.hidden, rng)
    spikes = (rng.random((args.batch, args.steps, N_INPUTS)) < INPUT_RATE).astype(np.uint8)
    start_s = time.perf_counter()
    result = run_graph(graph, spikes)
    elapsed_s = time.perf_counter() - start_s
    print(f"batch {args.batch}, {args.steps} steps, hidden {args.hidden}: {elapsed_s:.2f} s, "
          f"{args.steps / elapsed_s:.0f} steps/s, counters {dict(result.counters)}")


if __name__ == "__main__":
    main()
