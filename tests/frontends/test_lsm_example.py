"""examples/lsm/run.py: build, train, save, compile and simulate run end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lsm" / "run.py"


def test_example_runs_and_keeps_decisions_through_nir(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("lsm_example_run", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out-dir", str(tmp_path), "--shape", "6", "5", "4"]) == 0
    printed = capsys.readouterr().out
    assert "same decisions True" in printed and "loihi2, exact engine" in printed
    assert (tmp_path / "lsm.nir").is_file() and (tmp_path / "loihi2" / "manifest.json").is_file()
