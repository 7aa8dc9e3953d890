"""Read a YAML network spec, compile it for ``reference`` and ``loihi2``, simulate both.

    .venv/bin/python examples/yaml/run.py [SPEC] [--out-dir DIR] [--steps T] [--batch B]

``SPEC`` defaults to ``network.yaml`` beside this script. The input is seeded
Bernoulli spikes (rate 0.1 per step). Prints the graph, then per target the
spike rate of every spiking population, the read-out's final values, and how
far loihi2's exact engine is from the float reference (the share of equal
spikes, the correlation of the read-out traces). Hardware pipelines deliver
each population later (one step per layer on Loihi): the runs are not aligned,
and each population is compared at its own latency, from the compile record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import neurocc
from neurocc.frontends.yaml import read_network_yaml

HERE = Path(__file__).resolve().parent
TARGETS = ("reference", "loihi2")
INPUT_RATE = 0.1  # spike probability per input neuron and step
SEED = 0


def describe(graph: neurocc.Graph) -> list[str]:
    lines = [f"dt {graph.dt_s * 1e3:g} ms, inputs {list(graph.inputs)}, "
             f"outputs {list(graph.outputs)}"]
    lines += [f"  population {p.name}: {p.model} {list(p.shape)}"
              for p in graph.populations.values()]
    lines += [f"  projection {p.name}: {p.source} -> {p.target}, {p.synapse_count()} synapses, "
              f"{'CSR' if p.is_sparse else 'dense'}, delay {np.unique(p.delay_steps).tolist()}"
              for p in graph.projections.values()]
    return lines


def latencies(artifact: neurocc.Artifact) -> dict[str, int]:
    """Steps each population runs behind the reference (the ``*.timing`` compile record)."""
    for record in artifact.graph.history:
        if "latency_offsets" in record.details:
            return dict(record.details["latency_offsets"])
    return {}


def behind(trace: np.ndarray, steps: int, n_steps: int) -> np.ndarray:
    """The ``n_steps`` steps of a trace that start ``steps`` late."""
    return trace[:, steps:steps + n_steps]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, default=HERE / "network.yaml")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where the artifacts go (default: a temporary folder)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="neurocc-yaml-"))
    graph = read_network_yaml(args.spec)
    print(f"{args.spec.name}:", *describe(graph), sep="\n")
    rng = np.random.default_rng(SEED)
    spikes = (rng.random((args.batch, args.steps, graph.n_inputs)) < INPUT_RATE).astype(np.uint8)
    padded = np.concatenate([spikes, np.zeros_like(spikes[:, :8])], axis=1)  # room to lag
    results, lags = {}, {}
    for target in TARGETS:
        artifact = neurocc.compile(graph, target, out=out / target)
        results[target] = neurocc.simulate(artifact, padded, engine="exact",
                                           record_states=True)
        lags[target] = latencies(artifact)
        rates = {name: round(float(behind(s, lags[target].get(name, 0), args.steps).mean()), 4)
                 for name, s in results[target].spikes.items()
                 if graph.populations[name].neuron_model.spiking and name not in graph.inputs}
        final = results[target].states["v/readout"][0, args.steps - 1 + lags[target].get(
            "readout", 0)]
        print(f"{target}: artifact {out / target}, spikes per neuron and step {rates}, "
              f"read-out v at the last step (sample 0) {np.round(final, 3).tolist()}")
    ref, chip, lag = results["reference"], results["loihi2"], lags["loihi2"]
    equal = float(np.mean(behind(ref.spikes["sheet"], 0, args.steps)
                          == behind(chip.spikes["sheet"], lag.get("sheet", 0), args.steps)))
    correlation = np.corrcoef(
        behind(ref.states["v/readout"], 0, args.steps).ravel(),
        behind(chip.states["v/readout"], lag.get("readout", 0), args.steps).ravel())[0, 1]
    print(f"loihi2 vs reference: {equal:.3f} of sheet spike entries equal, read-out traces "
          f"correlate {correlation:.3f} (loihi2 v is in hardware units)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
