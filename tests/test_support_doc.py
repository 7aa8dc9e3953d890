"""docs/support.md is generated from the registries and must be current."""

from __future__ import annotations

from pathlib import Path

from neurocc.support import render_support

DOC = Path(__file__).resolve().parents[1] / "docs" / "support.md"


def test_support_matrix_is_current() -> None:
    assert DOC.read_text() == render_support(), (
        "docs/support.md is out of date: run `python -m neurocc.support > docs/support.md`")


def test_support_matrix_lists_every_registry() -> None:
    text = render_support()
    for needle in ("| nir |", "| `lif` |", "| `loihi` |", "| exporter | `lava` |",
                   "| `prune.magnitude` |", "| `synops` |", "`Conv2d`"):
        assert needle in text
    assert "Passthrough" not in text
