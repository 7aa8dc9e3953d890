"""examples/sinabs/run.py runs end to end; one epoch here, the agreement must still be total.

The example prints how many test samples give identical spike trains in sinabs and in the
reference engine: every one (the lowering is exact in float64), whatever the accuracy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sinabs")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sinabs" / "run.py"


def test_example_runs_and_agrees(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("sinabs_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "N_EPOCHS", 1)
    module.main()
    out = capsys.readouterr().out
    assert "sinabs forward pass on 100.0% of the 450 test samples" in out
    assert "accuracy    loihi2" in out
