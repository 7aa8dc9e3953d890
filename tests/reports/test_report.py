"""`neurocc report`: the comparison record, the baseline by hand, markdown, errors, atomicity."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocc
from neurocc.backends.family import register_family, unregister_family
from neurocc.baselines import conventional_baseline
from neurocc.cli import main
from neurocc.compare import compare_artifacts
from neurocc.compiler.errors import NeuroccError, SimulationError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.report_page import render_markdown, write_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import toyfamily


def two_layer() -> Graph:
    lif = {"tau_s": np.full(3, 0.01), "v_threshold": np.ones(3)}
    pops = {"in": Population("in", "input", (2,)),
            "h": Population("h", "lif", (3,), lif, "to_value"),
            "o": Population("o", "lif", (1,), {"tau_s": [0.01], "v_threshold": [1.0]},
                            "to_value")}
    projs = {"p1": Projection("p1", "in", "h", np.array([[30.0, 0.0], [0.0, 30.0], [0, 0]])),
             "p2": Projection("p2", "h", "o", np.array([[30.0, 30.0, 0.0]]))}
    return Graph(1e-3, pops, projs, ("in",), ("o",))


def test_baseline_by_hand() -> None:
    # dense MACs per step: 3x2 + 1x3 = 9; 10 steps -> 90 MACs per inference
    row = conventional_baseline(two_layer(), 10, effective_acs_per_inference=7.0)
    assert row["dense_macs_per_inference"] == 90
    float32, int8, ac = (row["rows"][k] for k in ("dense_float32", "dense_int8",
                                                   "event_driven_fp32_ac"))
    assert float32["energy_per_inference_pj"] == pytest.approx(90 * (3.7 + 0.9) + 90 * 32 * 10 / 64)
    assert int8["energy_per_inference_pj"] == pytest.approx(90 * (0.2 + 0.1) + 90 * 8 * 10 / 64)
    assert ac["energy_per_inference_pj"] == pytest.approx(7 * 0.9)
    assert all(fig["source"].startswith("Horowitz, ISSCC 2014")
               for r in row["rows"].values() for fig in r["figures"].values())


def test_record_of_the_example(example_report) -> None:
    directory, record = example_report
    assert json.loads((directory / "report.json").read_text()) == record
    reference = record["targets"][0]
    assert reference["fidelity"]["first_divergence_step"] is None  # the float engine itself
    assert reference["fidelity"]["prediction_agreement"] == 1.0
    for target in record["targets"]:
        for counts in target["fidelity"]["populations"].values():
            assert 0.0 <= counts["count_agreement"] <= 1.0
        total = sum(target["fidelity"]["populations"][n]["spikes"]
                    for n in target["fidelity"]["populations"])
        assert total == sum(v for k, v in target["run"]["spike_counts"].items() if k != "input")
    # the baseline prices the float reference's effective ACs
    acs = record["reference_neurobench"]["synaptic_operations"]["effective_acs"]
    assert record["baseline"]["rows"]["event_driven_fp32_ac"]["operations_per_inference"] == acs


def test_markdown_table(example_report) -> None:
    _, record = example_report
    lines = render_markdown(record).splitlines()
    assert len(lines) == 2 + len(record["targets"]) + len(record["baseline"]["rows"])
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert lines[2].split("|")[1].strip() == record["targets"][0]["label"]


def test_family_without_exact_engine_is_reported_on_the_reference(tmp_path: Path) -> None:
    family = dataclasses.replace(toyfamily.FAMILY, name="toy", exact_engine=None)
    register_family(family)
    try:
        directory = neurocc.compile(two_layer(), "toy1", out=tmp_path / "toy").path
        spikes = np.ones((2, 6, 2), dtype=np.uint8)
        record, _ = compare_artifacts([directory], spikes, progress=False)
    finally:
        unregister_family("toy")
    target = record["targets"][0]
    assert target["engine"] == "reference" and target["run"]["energy"] is None
    assert "no exact engine" in target["notes"][0]


def test_labels_tell_targets_of_one_name_apart(example_report, tmp_path: Path) -> None:
    _, record = example_report
    first = Path(record["targets"][1]["directory"])
    copy = tmp_path / "again"
    copy.symlink_to(first)
    spikes = np.zeros((1, 4, 64), dtype=np.uint8)
    labels = [t["label"] for t in compare_artifacts([first, copy, first], spikes,
                                                    progress=False)[0]["targets"]]
    name = record["targets"][1]["target"]
    assert labels == [f"{name} [1]", f"{name} (again)", f"{name} [3]"]


def test_failed_write_leaves_nothing(example_report, tmp_path: Path, monkeypatch) -> None:
    _, record = example_report

    def broken(*_: object) -> str:
        raise RuntimeError("template failed")

    monkeypatch.setattr("neurocc.report_page.render_html", broken)
    with pytest.raises(RuntimeError):
        write_report(record, {}, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_a_foreign_directory(example_report, tmp_path: Path) -> None:
    _, record = example_report
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(NeuroccError, match="not a report directory"):
        write_report(record, {}, tmp_path)


def test_errors(example_report, tmp_path: Path, capsys) -> None:
    _, record = example_report
    artifact = record["targets"][0]["directory"]
    with pytest.raises(SimulationError, match="no artifact"):
        compare_artifacts([], np.zeros((1, 2, 64), dtype=np.uint8))
    with pytest.raises(SimulationError, match="one label per sample"):
        compare_artifacts([artifact], np.zeros((2, 3, 64), dtype=np.uint8), np.zeros(3, int))
    other = neurocc.compile(two_layer(), "reference", out=tmp_path / "other").path
    with pytest.raises(SimulationError, match="takes 2 inputs"):
        compare_artifacts([artifact, other], np.zeros((1, 3, 64), dtype=np.uint8),
                          progress=False)
    np.savez(tmp_path / "in.npz", spikes=np.zeros((1, 3, 64), dtype=np.uint8))
    np.save(tmp_path / "labels.npy", np.zeros((1, 2)))
    assert main(["report", artifact, "--input", str(tmp_path / "in.npz")]) == 2
    assert "-o REPORT_DIR" in capsys.readouterr().err
    assert main(["report", artifact, "--input", str(tmp_path / "in.npz"), "--labels",
                 str(tmp_path / "labels.npy"), "--format", "md"]) == 2
    assert "integer class labels" in capsys.readouterr().err


def test_cli_markdown_and_files(example_report, tmp_path: Path, capsys) -> None:
    _, record = example_report
    dirs = [t["directory"] for t in record["targets"][:2]]
    np.savez(tmp_path / "in.npz", spikes=np.ones((2, 5, 64), dtype=np.uint8))
    out = tmp_path / "rep"
    assert main(["report", *dirs, "--input", str(tmp_path / "in.npz"), "-o", str(out),
                 "--format", "md", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("| target |") and str(out / "report.html") in printed.err
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    first = (out / "report.html").read_bytes()
    assert main(["report", *dirs, "--input", str(tmp_path / "in.npz"), "-o", str(out),
                 "--quiet"]) == 0  # replaces the report, byte for byte the same
    assert (out / "report.html").read_bytes() == first
