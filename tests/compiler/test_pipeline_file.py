"""Pipeline files (``--pipeline``): what they run, and errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurocc.backends.artifact import read_artifact
from neurocc.cli import main
from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.passes.pipeline import load_pipeline

MODEL = Path(__file__).resolve().parents[2] / "examples" / "digits" / "digits_lif.nir"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_items_in_both_spellings_with_data_beside_the_file(tmp_path: Path) -> None:
    spikes = np.zeros((2, 5, 64), dtype=np.uint8)
    np.savez(tmp_path / "calib.npz", spikes=spikes)
    path = write(tmp_path, "target: loihi\npasses:\n"
                           "  - prune.magnitude: {fraction: 0.5}\n"
                           "  - prune:method=neurons,sparsity=0.1\n"
                           "  - prune.activity:\n      data: calib.npz\n")
    steps = load_pipeline(path, "loihi2", "loihi")
    assert [name for name, _ in steps] == ["prune.magnitude", "prune.neurons", "prune.activity"]
    assert steps[0][1] == {"fraction": 0.5} and steps[1][1] == {"fraction": 0.1}
    np.testing.assert_array_equal(steps[2][1]["data"], spikes)


def test_a_list_alone_is_the_passes(tmp_path: Path) -> None:
    assert load_pipeline(write(tmp_path, "- prune.magnitude: {threshold: 0.1}\n")) == [
        ("prune.magnitude", {"threshold": 0.1})]


@pytest.mark.parametrize("text, message", [
    ("passes:\n  - prune.magnitude: {fraction: 0.5}\n  - prune.nothing: {}\n",
     r"line 3: pass 'prune.nothing': is not a registered pass"),
    ("passes:\n  - prune.schedule:\n      fraction: 0.5\n      step: 2\n",
     r"line 3: pass 'prune.schedule': option 'step': is not an option"),
    ("passes:\n  - prune.magnitude: {fraction: lots}\n",
     r"line 2: pass 'prune.magnitude': option 'fraction': is 'lots'"),
    ("passes:\n  - prune.magnitude: 0.5\n", r"line 2: pass 'prune.magnitude'.*mapping"),
    ("passes:\n  - {prune.magnitude: {}, prune.neurons: {}}\n",
     r"line 2: passes\[0\].*one-key mapping"),
    ("pases:\n  - prune.magnitude: {fraction: 0.5}\n", r"line 1: key 'pases'"),
    ("target: spinnaker2\npasses: []\n", r"line 1: key 'target'.*'loihi2'"),
    ("passes: prune.magnitude\n", r"line 1: passes.*not a list"),
    ("passes:\n  - prune.activity: {data: missing.npz}\n",
     r"line 2: .*missing.npz.*cannot be read"),
    ("passes: [\n", r"cannot be read as YAML"),
    ("", r"is empty"),
])
def test_errors_name_the_line_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(NeuroccError, match=message):
        load_pipeline(write(tmp_path, text), "loihi2", "loihi")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NeuroccError, match="pipeline file does not exist"):
        load_pipeline(tmp_path / "nope.yaml")


def test_cli_runs_the_file_then_the_pass_flags(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "passes:\n  - prune.magnitude: {fraction: 0.5}\n")
    out = tmp_path / "out"
    code = main(["compile", str(MODEL), "--target", "loihi2", "--pipeline", str(path),
                 "--pass", "prune:method=neurons,sparsity=0.2", "-o", str(out)])
    assert code == 0
    history = [r.name for r in read_artifact(out).graph.history]
    assert history[:2] == ["prune.magnitude", "prune.neurons"]
    bad = write(tmp_path, "passes:\n  - prune.magnitude: {fractoin: 0.5}\n")
    code = main(["compile", str(MODEL), "--target", "loihi2", "--pipeline", str(bad),
                 "-o", str(tmp_path / "out2")])
    assert code == 2 and "line 2" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()
