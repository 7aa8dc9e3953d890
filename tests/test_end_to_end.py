"""The issue's end-to-end path on the shipped example: compile, verify against Lava, demo."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from neurocc.cli import main
from neurocc.demo import EXAMPLE_DIR, EXAMPLE_MODEL
from neurocc.sim.loihi import run_artifact

SAMPLE = EXAMPLE_DIR / "digits_sample.npz"
# the float reference and the bit-exact engine may differ by at most one point of accuracy
MAX_ACCURACY_LOSS = 0.01

pytestmark = pytest.mark.filterwarnings("ignore:pandas not found:ImportWarning")


def test_compile_then_verify_against_lava_is_identical(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE_MODEL), "--target", "loihi2", "-o", str(out)]) == 0
    assert main(["verify", str(out), "--against", "lava", "--input", str(SAMPLE)]) == 0
    assert "identical" in capsys.readouterr().out


def test_verify_exits_1_and_names_the_first_difference(tmp_path: Path, capsys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine that drifts from Lava (here: one extra v increment) must be caught."""
    import neurocc.backends.loihi.verify as verify

    def drifting_engine(artifact, spikes, **options):
        result = run_artifact(artifact, spikes, **options)
        states = dict(result.states)
        states["v/lif1"] = states["v/lif1"].copy()
        states["v/lif1"][0, 3, 7] += 1
        return dataclasses.replace(result, states=states)

    monkeypatch.setattr(verify, "run_artifact", drifting_engine)
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE_MODEL), "--target", "loihi2", "-o", str(out)]) == 0
    code = main(["verify", str(out), "--against", "lava", "--input", str(SAMPLE)])
    text = capsys.readouterr().out
    assert code == 1
    assert "lif1" in text and "neuron 7" in text and "step 3" in text


def test_export_lava_script_writes_script_and_parameters(tmp_path: Path) -> None:
    assert main(["compile", str(EXAMPLE_MODEL), "--target", "loihi2", "-o",
                 str(tmp_path / "a")]) == 0
    assert main(["export", "lava", str(tmp_path / "a"), "-o", str(tmp_path / "net.py")]) == 0
    assert (tmp_path / "net.py").is_file() and (tmp_path / "net_params.npz").is_file()


def test_demo_loihi2_accuracy_within_one_point_of_reference(tmp_path: Path, capsys) -> None:
    assert main(["demo", "-o", str(tmp_path)]) == 0
    rows = {row["target"]: row for row in json.loads((tmp_path / "demo.json").read_text())}
    reference, loihi = rows["reference"], rows["loihi2"]
    assert reference["accuracy"] >= 0.9
    assert reference["accuracy"] - loihi["accuracy"] <= MAX_ACCURACY_LOSS
    assert loihi["units"] == "cores"
    assert loihi["units_used"] >= 3  # at least one core per population (input, lif1, lif2)
    assert loihi["energy_per_inference_uj"] > 0
    crossbar = rows["rram256k"]  # the analog engine over five device seeds
    assert crossbar["device_seeds"] == 5 and len(set(crossbar["accuracies"])) > 1
    assert crossbar["accuracy"] == pytest.approx(np.mean(crossbar["accuracies"]))
    assert 0 < crossbar["accuracy_spread"] < 0.05
    assert reference["accuracy"] - crossbar["accuracy"] <= 0.1
    assert (crossbar["units"], crossbar["units_used"]) == ("tiles", 2)
    assert loihi["accuracy_spread"] is None
    with np.load(EXAMPLE_DIR / "digits_test.npz") as data:
        assert len(data["labels"]) == rows["reference"]["report"]["n_inferences"]
    assert "loihi2" in capsys.readouterr().out
