"""examples/zeroshot_lsm: the zero-shot RRAM reservoir on the analog engine classifies digits
about as well as the software reservoir of the same size.

Thresholds from measurement (device seeds 0..2, 200 neurons, 450 test digits): the
zero-shot reservoir on the crossbar engine scored 0.880 to 0.889, the Gaussian software
reservoir on the float engine 0.864 to 0.889 (largest gap 0.024). Chance is 0.100. On the
quick subset (400 training, 150 test digits, seeds 0..3): device 0.70 to 0.79, software 0.71
to 0.79, largest gap 0.08.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "zeroshot_lsm" / "run.py"
MIN_ACCURACY = 0.80  # clearly above chance (0.1) and above a 64-pixel linear readout's floor
MARGIN = 0.05  # device reservoir vs software reservoir
SUBSET_MIN_ACCURACY, SUBSET_MARGIN = 0.6, 0.1


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zeroshot_example_run", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_on_a_subset_the_device_reservoir_is_close_to_the_software_one(example) -> None:
    data = example.load_data()
    n = data.n_train
    small = example.Data(np.concatenate([data.spikes[:400], data.spikes[n:n + 150]]),
                         data.y_train[:400], data.y_test[:150])
    software = example.on_reference(example.software(0), small)
    device = example.on_crossbar(example.device(0), small, seed=0, programming_noise=False)
    assert device >= SUBSET_MIN_ACCURACY and software >= SUBSET_MIN_ACCURACY
    assert abs(device - software) <= SUBSET_MARGIN


@pytest.mark.slow
def test_device_reservoir_on_crossbar_matches_the_software_reservoir(example) -> None:
    data = example.load_data()
    software = example.on_reference(example.software(0), data)
    device = example.on_crossbar(example.device(0), data, seed=0, programming_noise=False)
    assert device >= MIN_ACCURACY and software >= MIN_ACCURACY
    assert abs(device - software) <= MARGIN


def test_a_target_variant_changes_only_the_named_values(example, tmp_path) -> None:
    from neurocc.backends import load_target

    path = example.target_variant(tmp_path, "rram_read10", example.read_noise(10.0))
    base, variant = load_target("rram256k"), load_target(path)
    assert variant.read_noise_q0 == pytest.approx(10 * base.read_noise_q0)
    assert variant.read_noise_q_max == pytest.approx(10 * base.read_noise_q_max)
    changed = {k for k in base.entries if variant.entries[k].value != base.entries[k].value}
    assert changed == {"read_noise_q0", "read_noise_q_max"}
