"""Sweep files: what they expand to, and errors that name the line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import EXAMPLE, write_sweep

from neurocc.sweep import SweepError, expand, read_sweep

MODEL = f"models: [{EXAMPLE / 'digits_lif.nir'}]\n"
INPUT = f"input: {EXAMPLE / 'digits_test.npz'}\n"


def test_axes_a_family_cannot_vary_collapse(small_sweep: Path) -> None:
    tasks = expand(read_sweep(small_sweep))
    # reference: no weight width, no device randomness -> 2 pipelines; loihi2: 2 x 2 widths;
    # neither engine is seeded, so the two device seeds collapse everywhere.
    assert [(t.target, t.pipeline, t.weight_bits, t.device_seed) for t in tasks] == [
        ("reference", (), None, None),
        ("reference", ("prune.magnitude:fraction=0.5",), None, None),
        ("loihi2", (), 8, None), ("loihi2", (), 4, None),
        ("loihi2", ("prune.magnitude:fraction=0.5",), 8, None),
        ("loihi2", ("prune.magnitude:fraction=0.5",), 4, None)]


def test_paths_are_relative_to_the_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "m.nir").write_bytes((EXAMPLE / "digits_lif.nir").read_bytes())
    spec = read_sweep(write_sweep(tmp_path, "models: [m.nir]\ntargets: [reference]\n" + INPUT))
    assert spec.models[0].path == tmp_path / "m.nir"
    assert spec.models[0].name == "m"
    assert spec.pipelines == ((),) and spec.weight_bits == (None,)


@pytest.mark.parametrize(("body", "where", "what"), [
    ("targets: [reference]\n" + INPUT, "sweep.yaml", "no 'models'"),
    (MODEL + "targets: [reference]\n" + INPUT + "seeds: [1]\n", "line 5: key 'seeds'",
     "not a key"),
    (MODEL + "targets: [nosuchchip]\n" + INPUT, "line 3: key 'targets'", "not a packaged"),
    (MODEL + "targets: [reference]\npipelines: [[prune.magnitude:fraction]]\n" + INPUT,
     "line 4: key 'pipelines'", "not key=value"),
    (MODEL + "targets: [reference]\npipelines: [[no.such.pass]]\n" + INPUT,
     "line 4: key 'pipelines'", "no.such.pass"),
    (MODEL + "targets: [reference]\nweight_bits: [8, 0]\n" + INPUT,
     "line 4: key 'weight_bits'", "integer >= 1"),
    (MODEL + "targets: [reference]\ninput: {path: missing.npz}\n", "line 4: key 'path'",
     "not a file"),
    ("models: [missing.nir]\ntargets: [reference]\n" + INPUT, "line 2: key 'path'",
     "does not exist"),
])
def test_errors_name_line_and_key(tmp_path: Path, body: str, where: str, what: str) -> None:
    with pytest.raises(SweepError) as caught:
        read_sweep(write_sweep(tmp_path, body))
    assert where in caught.value.where
    assert what in str(caught.value)


def test_a_network_spec_is_not_a_sweep(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("kind: network\n")
    with pytest.raises(SweepError, match="kind: sweep"):
        read_sweep(path)


def test_a_damaged_input_file_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    from neurocc.sweep import run_sweep

    (tmp_path / "cut.npz").write_bytes((EXAMPLE / "digits_test.npz").read_bytes()[:300])
    path = write_sweep(tmp_path, MODEL + "targets: [reference]\ninput: cut.npz\n")
    with pytest.raises(SweepError, match=r"cut\.npz.*cannot be read"):
        run_sweep(path, tmp_path / "out", "none", progress=False)
    assert not (tmp_path / "out").exists()
