"""Zero-shot liquid state machine on resistive memory: scikit-learn's digits as spike events.

    .venv/bin/python examples/zeroshot_lsm/run.py [--seeds 2] [--json out.json]

The co-design of Lin et al. (Nat. Comput. Sci. 2025): a reservoir of 200 LIF
neurons whose input (64 x 200) and recurrent (200 x 200) weights are the
differences of pairs of RRAM cells switched once without verify
(``zeroshot_reservoir``, the ``rram256k`` target's switching distribution), and a
digital readout (ridge regression) trained on the reservoir's spikes. The
reservoir runs on the analog crossbar engine (read noise, drift, DAC and ADC;
no programming noise: nothing is programmed). Compared with the software
reservoir of the same size and weight scale (Gaussian weights, float reference
engine) and with that software reservoir *programmed* onto the same arrays
(programming noise scaled 1x and 4x), and the zero-shot reservoir under read
noise 1x to 30x the target's. Digits: 8 x 8 pixels rate-encoded as Bernoulli
spikes over 25 steps (``examples/digits/encoding.py``), stratified 75 / 25 % split.
Every line is the mean and spread over ``--seeds`` device seeds (for the
software rows: reservoir seeds). Prints one table; the same seeds give the
same numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import yaml

import neurocc
from neurocc.backends import load_target
from neurocc.compiler.graph import Graph
from neurocc.frontends.lsm import (
    LsmParameters,
    fit_readout,
    gaussian_reservoir,
    readout_from_spikes,
    reservoir_states,
    zeroshot_reservoir,
)
from neurocc.report import energy

HERE = Path(__file__).resolve().parent
TARGET = "rram256k"
N_STEPS = 25
MAX_RATE = 0.3  # spike probability per step of a full-intensity pixel
SPLIT_SEED, TRAIN_SEED, TEST_SEED = 0, 1, 2
# A dense random reservoir as in the paper's N-MNIST run (every cell of the arrays is used):
# 200 LIF neurons, decay 0.9 per step (tau = 10 steps), threshold 1; input and recurrent
# weight scales chosen on this task (reservoir rate about 0.1 spikes per step).
N_RESERVOIR = 200
TAU_S = 10e-3
INPUT_SCALE, RECURRENT_SCALE = 3.0, 0.3
READ_NOISE_SCALES = (1.0, 10.0, 30.0)
PROGRAMMING_NOISE_SCALES = (1.0, 4.0)


def digits_encoding() -> ModuleType:
    """examples/digits/encoding.py (load_split, rate_encode), loaded by path."""
    spec = importlib.util.spec_from_file_location("digits_encoding",
                                                  HERE.parent / "digits" / "encoding.py")
    if spec is None or spec.loader is None:
        raise SystemExit("examples/digits/encoding.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Data:
    """Spike trains of the split: train and test stacked, so one run covers both."""

    spikes: np.ndarray  # (n_train + n_test, T, 64) uint8
    y_train: np.ndarray
    y_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)


def load_data(n_steps: int = N_STEPS, max_rate: float = MAX_RATE) -> Data:
    encoding = digits_encoding()
    x_train, y_train, x_test, y_test = encoding.load_split(SPLIT_SEED)
    train = encoding.rate_encode(x_train, n_steps, TRAIN_SEED, max_rate)
    test = encoding.rate_encode(x_test, n_steps, TEST_SEED, max_rate)
    return Data(np.concatenate([train, test]), y_train, y_test)


def reservoir_params(seed: int) -> LsmParameters:
    """Every input reaches every neuron; every ordered pair of neurons is connected."""
    return LsmParameters(n_inputs=64, shape=(N_RESERVOIR,), length_constant=None,
                         connectivity=(1.0, 1.0, 1.0, 1.0), input_fraction=1.0, tau_s=TAU_S,
                         v_threshold=1.0, n_readout=10, seed=seed)


def software(seed: int) -> Graph:
    return gaussian_reservoir(reservoir_params(seed), input_scale=INPUT_SCALE,
                              recurrent_scale=RECURRENT_SCALE)


def device(seed: int, target: str | Path = TARGET) -> Graph:
    return zeroshot_reservoir(reservoir_params(0), target, input_scale=INPUT_SCALE,
                              recurrent_scale=RECURRENT_SCALE, device_seed=seed)


def accuracy(graph: Graph, reservoir_spikes: np.ndarray, data: Data) -> float:
    """Fit the digital readout on the training samples' reservoir spikes, score the test."""
    trained, _ = fit_readout(graph, reservoir_spikes[:data.n_train], data.y_train)
    decision = readout_from_spikes(trained, reservoir_spikes[data.n_train:])
    return float(np.mean(np.argmax(decision, axis=1) == data.y_test))


def on_reference(graph: Graph, data: Data) -> float:
    return accuracy(graph, reservoir_states(graph, data.spikes)[1], data)


def on_crossbar(graph: Graph, data: Data, target: str | Path = TARGET, seed: int = 0,
                **engine_options: Any) -> float:
    """Compile for the crossbar target and run the analog engine with device ``seed``."""
    artifact = neurocc.compile(graph, target)
    result = neurocc.simulate(artifact, data.spikes, engine="exact", seed=seed,
                              **engine_options)
    return accuracy(graph, result.spikes["reservoir"], data)


def crossbar_cost(graph: Graph, data: Data, target: str | Path = TARGET, seed: int = 0
                  ) -> dict[str, Any]:
    """Arrays used and energy per inference (the family's model) of the test digits on the
    analog engine: what the reservoir's reads, conversions and neuron updates cost."""
    artifact = neurocc.compile(graph, target)
    test = data.spikes[data.n_train:]
    result = neurocc.simulate(artifact, test, engine="exact", seed=seed,
                              programming_noise=False)
    record = energy(artifact, result, len(test)) or {}
    breakdown = record.get("breakdown", {})
    total = record.get("energy_per_inference_pj", 0.0)
    shares = {name: term["energy_pj"] / total if total else 0.0
              for name, term in breakdown.items()}
    return {"arrays": artifact.layout["resources"]["tiles"]["used"],
            "arrays_limit": artifact.layout["resources"]["tiles"]["limit"],
            "energy_per_inference_nj": total / 1e3, "shares": shares}


def target_variant(folder: Path, name: str, changes: Mapping[str, float],
                   base: str = TARGET) -> Path:
    """A copy of ``base`` with some device or converter values changed (``key: value``), as
    the target files invite; written to ``folder/name.yaml``."""
    data = load_target(base).to_dict()
    for section in ("array", "converters", "device", "energy"):
        for key, value in changes.items():
            if key in data[section]:
                data[section][key] = {**data[section][key], "value": value,
                                      "source": f"{base} value changed by the zero-shot example"}
    data["name"] = name
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def scaled(key_prefix: str, factor: float, base: str = TARGET) -> dict[str, float]:
    """Every device value whose key starts with ``key_prefix``, times ``factor``."""
    spec = load_target(base)
    return {key: float(entry.value) * factor for key, entry in spec.entries.items()
            if key.startswith(key_prefix)}


def read_noise(factor: float) -> dict[str, float]:
    """Read noise ``factor`` times the target's (its cap raised to keep the ratio)."""
    return scaled("read_noise_q", factor)


def programming_noise(factor: float) -> dict[str, float]:
    return scaled("prog_noise_c", factor)


def spread(run: Callable[[int], float], seeds: int) -> tuple[float, float]:
    values = [run(seed) for seed in range(seeds)]
    return float(np.mean(values)), float(np.std(values))


def experiment(data: Data, seeds: int, folder: Path) -> list[dict[str, Any]]:
    """The rows of the example's table (name, engine, mean and sd of the test accuracy)."""
    rows: list[tuple[str, str, Callable[[int], float]]] = [
        ("software reservoir (Gaussian weights)", "reference",
         lambda s: on_reference(software(s), data)),
        ("zero-shot reservoir (switched RRAM cells)", "reference",
         lambda s: on_reference(device(s), data)),
    ]
    for factor in READ_NOISE_SCALES:
        target = target_variant(folder, f"rram_read{factor:g}", read_noise(factor))
        rows.append((f"zero-shot, read noise x{factor:g}", "crossbar",
                     lambda s, t=target: on_crossbar(device(s, t), data, t, seed=s,
                                                      programming_noise=False)))
    for factor in PROGRAMMING_NOISE_SCALES:
        target = target_variant(folder, f"rram_prog{factor:g}", programming_noise(factor))
        rows.append((f"software reservoir programmed, prog. noise x{factor:g}", "crossbar",
                     lambda s, t=target: on_crossbar(software(s), data, t, seed=s)))
    table = []
    for name, engine, run in rows:
        mean, sd = spread(run, seeds)
        table.append({"reservoir": name, "engine": engine, "accuracy_mean": mean,
                      "accuracy_sd": sd, "seeds": seeds})
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="device (or reservoir) seeds")
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    start_s = time.perf_counter()
    data = load_data()
    with tempfile.TemporaryDirectory(prefix="neurocc-zeroshot-") as folder:
        table = experiment(data, args.seeds, Path(folder))
    width = max(len(row["reservoir"]) for row in table)
    print(f"{'reservoir':<{width}}  {'engine':<9}  test accuracy (chance 0.100)")
    for row in table:
        print(f"{row['reservoir']:<{width}}  {row['engine']:<9}  "
              f"{row['accuracy_mean']:.3f} +- {row['accuracy_sd']:.3f}")
    cost = crossbar_cost(device(0), data)
    largest = max(cost["shares"], key=cost["shares"].get) if cost["shares"] else "-"
    print(f"{TARGET}, zero-shot reservoir: {cost['arrays']} of {cost['arrays_limit']} arrays, "
          f"{cost['energy_per_inference_nj']:.1f} nJ per inference "
          f"({largest} {100 * cost['shares'].get(largest, 0):.0f} %)")
    print(f"{N_RESERVOIR} neurons, target {TARGET}, {args.seeds} seeds, "
          f"{time.perf_counter() - start_s:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"table": table, "cost": cost}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
