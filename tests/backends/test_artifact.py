"""Artifacts are written atomically and deterministically, and checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurocc.backends.artifact import Artifact, read_artifact, write_artifact
from neurocc.compiler.errors import ArtifactError
from neurocc.compiler.graph import Graph, Population, Projection


def make_artifact() -> Artifact:
    pops = {"in": Population("in", "input", (2,)),
            "h": Population("h", "lif", (3,), {"tau_s": 2e-3, "v_threshold": 1.0}, "to_value")}
    graph = Graph(1e-3, pops, {"w": Projection("w", "in", "h", np.ones((3, 2)))}, ("in",), ("h",))
    sections = {"chip": {"pop/h/vth": np.array(7), "proj/w/weight": np.arange(6).reshape(3, 2)}}
    return Artifact("t", "reference", graph, {"resources": {"cores_used": 1}}, sections)


def test_round_trip_and_byte_identical_rewrite(tmp_path: Path) -> None:
    first = write_artifact(make_artifact(), tmp_path / "a")
    second = write_artifact(make_artifact(), tmp_path / "b")
    for name in ("manifest.json", "graph.npz", "chip.npz"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    loaded = read_artifact(first)
    assert loaded.layout == {"resources": {"cores_used": 1}}
    assert loaded.sections["chip"]["proj/w/weight"].tolist() == [[0, 1], [2, 3], [4, 5]]
    assert loaded.graph.populations["h"].params["tau_s"].tolist() == [2e-3] * 3


def test_rewriting_replaces_an_artifact_but_never_a_foreign_directory(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    write_artifact(make_artifact(), out)  # replacing an artifact is fine
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="not an artifact directory"):
        write_artifact(make_artifact(), foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "docs"]  # no staging left


def test_other_format_version_is_refused(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["format_version"] = 999
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="format version 999"):
        read_artifact(out)


def test_damaged_array_file_is_detected(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    (out / "chip.npz").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="checksum"):
        read_artifact(out)


def test_missing_directory_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="neurocc compile"):
        read_artifact(tmp_path / "nothing")
