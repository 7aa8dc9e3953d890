"""Liquid state machine on scikit-learn's digits: build, train the readout, save, compile.

    .venv/bin/python examples/lsm/run.py [--out-dir DIR] [--shape 15 3 3] [--method ridge]

Steps: build a Maass-style reservoir from ``LsmParameters`` (135 LIF neurons on
a 15 x 3 x 3 grid by default), rate-encode the 8 x 8 digits as in
``examples/digits`` (25 steps), train the readout with scikit-learn on the
training split, measure test accuracy with the float reference engine, write
the trained network as NIR (``write_lsm``) and read it back, then compile it
for ``reference`` and ``loihi2`` and run the test set through each target's
exact engine. Prints one table; the same seed gives the same numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

import neurocc
from neurocc.frontends.lsm import (
    LsmParameters,
    build_lsm,
    classify,
    read_lsm,
    train_readout,
    write_lsm,
)

HERE = Path(__file__).resolve().parent
N_STEPS = 25
MAX_RATE = 0.2  # spike probability per step of a full-intensity pixel
SPLIT_SEED, TRAIN_SEED, TEST_SEED = 0, 1, 2
TARGETS = ("reference", "loihi2")


def digits_encoding() -> ModuleType:
    """examples/digits/encoding.py (load_split, rate_encode), loaded by path."""
    spec = importlib.util.spec_from_file_location("digits_encoding",
                                                  HERE.parent / "digits" / "encoding.py")
    if spec is None or spec.loader is None:
        raise SystemExit("examples/digits/encoding.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decide(values: np.ndarray) -> np.ndarray:
    """The readout neuron with the largest v at the last step (batch, T, n) -> (batch,)."""
    return np.argmax(values[:, -1], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to write lsm.nir and the artifacts (default: a temp dir)")
    parser.add_argument("--shape", type=int, nargs="+", default=[15, 3, 3])
    parser.add_argument("--method", choices=("ridge", "logistic"), default="ridge")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="neurocc-lsm-"))
    out.mkdir(parents=True, exist_ok=True)
    encoding = digits_encoding()
    x_train, y_train, x_test, y_test = encoding.load_split(SPLIT_SEED)
    train = encoding.rate_encode(x_train, N_STEPS, TRAIN_SEED, MAX_RATE)
    test = encoding.rate_encode(x_test, N_STEPS, TEST_SEED, MAX_RATE)

    start_s = time.perf_counter()
    params = LsmParameters(n_inputs=64, shape=tuple(args.shape), n_readout=10, seed=args.seed)
    graph = build_lsm(params)
    rows = [("build_lsm", f"{graph.populations['reservoir'].size} neurons, "
             f"{graph.projections['reservoir_reservoir'].synapse_count()} recurrent synapses")]
    trained, report = train_readout(graph, train, y_train, method=args.method)
    rows.append((f"train_readout ({args.method})", f"train accuracy {report.train_score:.3f}, "
                 f"reservoir rate {report.reservoir_rate:.3f} spikes/step"))
    accuracy = float(np.mean(classify(trained, test) == y_test))
    rows.append(("test accuracy, float graph", f"{accuracy:.3f} (chance 0.100)"))

    write_lsm(trained, out / "lsm.nir")
    again = read_lsm(out / "lsm.nir")
    same = np.array_equal(classify(again, test), classify(trained, test))
    rows.append(("write_lsm / read_lsm", f"{out / 'lsm.nir'}: same decisions {same}"))
    for target in TARGETS:
        artifact = neurocc.compile(trained, target, out=out / target)
        # v of the li readout (hardware units on loihi2: one scale for all its neurons)
        result = neurocc.simulate(artifact, test, engine="exact", align=True,
                                  record_states=True)
        hits = float(np.mean(decide(result.states["v/readout"]) == y_test))
        rows.append((f"{target}, exact engine", f"test accuracy {hits:.3f}"))
    rows.append(("total time", f"{time.perf_counter() - start_s:.1f} s"))
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
