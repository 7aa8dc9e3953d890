"""The shipped EGRU example (examples/egru): its numbers come from the reference engine, and
the engine computes what the torch model it was trained as computes.

The weights file records the engine's test accuracy, event count and event rate when it was
written; they are recomputed here and must be equal (the run is float64 and deterministic,
and no test cell comes within 7e-6 of its threshold, so no event can flip on rounding).
The slow test retrains and compares the file byte for byte.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from neurocc.frontends.egru import EgruWeights, load_egru
from neurocc.sim.reference import run_graph

pytest.importorskip("sklearn")

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "egru"
WEIGHTS_PATH = EXAMPLE_DIR / "egru_digits.npz"
MAX_BYTES = 300_000  # "small": a few hundred kB at most
MIN_ACCURACY = 0.95
TOL = 1e-12  # float64 engine vs float64 torch: see test_egru_torch.py


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"egru_example_{name}",
                                                  EXAMPLE_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(EXAMPLE_DIR))  # the scripts import egru_encoding.py beside them
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLE_DIR))
    return module


@pytest.fixture(scope="module")
def shipped() -> tuple[EgruWeights, dict]:
    return EgruWeights.load(WEIGHTS_PATH)


@pytest.fixture(scope="module")
def test_set(shipped) -> tuple[np.ndarray, np.ndarray]:
    return load_module("run").test_split(shipped[1])


def test_weights_file_is_small_float32(shipped):
    assert WEIGHTS_PATH.stat().st_size < MAX_BYTES
    with np.load(WEIGHTS_PATH) as data:
        assert {data[k].dtype for k in data.files if k != "metadata"} == {np.dtype(np.float32)}


def test_encoding_is_a_thermometer_code_of_the_rows():
    encoding = load_module("egru_encoding")
    image = np.zeros((1, 8, 8), dtype=np.int64)
    image[0, 2, 3] = 9  # row 2, pixel 3: levels 1, 5, 9 reached, 13 not
    spikes = encoding.encode_rows(image)
    assert spikes.shape == (1, 8, 32) and spikes.dtype == np.uint8
    assert np.flatnonzero(spikes[0, 2]).tolist() == [12, 13, 14]
    assert spikes.sum() == 3


def test_engine_reproduces_the_recorded_accuracy_and_sparsity(shipped, test_set):
    weights, metadata = shipped
    spikes, labels = test_set
    result = run_graph(load_egru(WEIGHTS_PATH), spikes)
    found = load_module("run").summary(result, labels, weights.n_units)
    assert found["accuracy"] == metadata["test_accuracy"] >= MIN_ACCURACY
    assert result.counters["spikes"] == metadata["test_events"]
    assert result.counters["synops"] == metadata["test_synops"]
    assert found["event_rate"] == metadata["test_event_rate"]
    # events per unit and step, counted independently from the recorded 0/1 events
    assert result.spikes["egru"].mean() == pytest.approx(found["event_rate"], rel=1e-15)
    assert 0 < found["event_rate"] < 0.5


def test_engine_equals_the_torch_model_in_float64(shipped, test_set):
    torch = pytest.importorskip("torch")
    train = load_module("train")
    weights, _ = shipped
    spikes, _ = test_set
    model = train.Egru(weights.n_inputs, weights.n_units, weights.n_outputs,
                       dtype=torch.float64)
    model.load_state_dict(train.weights_state(weights))
    with torch.no_grad():
        expected = model(torch.from_numpy(spikes))
    result = run_graph(load_egru(weights), spikes, record_states=True)
    np.testing.assert_array_equal(result.spikes["egru"], expected.events.numpy())
    for key, value in (("c/egru", expected.c), ("y/egru", expected.y),
                       ("v/readout", expected.readout)):
        np.testing.assert_allclose(result.states[key], value.numpy(), rtol=TOL, atol=TOL,
                                   err_msg=key)


def test_run_script_prints_the_numbers(shipped):
    _, metadata = shipped
    done = subprocess.run([sys.executable, str(EXAMPLE_DIR / "run.py")], capture_output=True,
                          text=True, check=True)
    assert f"accuracy            {metadata['test_accuracy']:.4f}" in done.stdout
    assert f"events/unit/step    {metadata['test_event_rate']:.4f}" in done.stdout


@pytest.mark.slow
def test_training_regenerates_the_shipped_weights_byte_for_byte(tmp_path: Path):
    pytest.importorskip("torch")
    subprocess.run([sys.executable, str(EXAMPLE_DIR / "train.py"), "--out-dir", str(tmp_path)],
                   check=True, capture_output=True)
    assert (tmp_path / WEIGHTS_PATH.name).read_bytes() == WEIGHTS_PATH.read_bytes()
