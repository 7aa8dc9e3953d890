"""Running sweeps: serial, on a LocalCluster, resumed after an interruption, with failures."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import EXAMPLE, computed_table, write_sweep

import neurocc
from neurocc.demo import accuracy
from neurocc.sweep import expand, read_sweep, run_sweep
from neurocc.sweep.plots import pareto_front


def test_serial_sweep_rows_match_direct_runs(small_sweep: Path, tmp_path: Path) -> None:
    summary = run_sweep(small_sweep, tmp_path / "out", "none", progress=False)
    assert (summary.total, summary.ran, summary.failed, summary.lost) == (6, 6, 0, 0)
    rows = computed_table(summary.table)
    assert [(r["target"], r["pipeline"], r["weight_bits"]) for r in rows] == [
        ("reference", "(none)", ""), ("reference", "prune.magnitude:fraction=0.5", ""),
        ("loihi2", "(none)", "8"), ("loihi2", "(none)", "4"),
        ("loihi2", "prune.magnitude:fraction=0.5", "8"),
        ("loihi2", "prune.magnitude:fraction=0.5", "4")]
    # Independent check: the same compile and run done by hand through the API.
    with np.load(EXAMPLE / "digits_test.npz") as data:
        spikes, labels = data["spikes"][:60], data["labels"][:60]
    art = neurocc.compile(EXAMPLE / "digits_lif.nir", "loihi2")
    by_hand = accuracy(neurocc.simulate(art, spikes, align=True).output, labels)
    assert float(rows[2]["accuracy"]) == pytest.approx(by_hand, abs=1e-6)
    assert float(rows[1]["sparsity"]) == pytest.approx(0.5, abs=1e-3)
    assert rows[0]["energy_per_inference_uj"] == ""  # the float reference has no energy
    assert float(rows[2]["energy_per_inference_uj"]) > 0
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 0
    assert (tmp_path / "out" / "accuracy_vs_bits.png").is_file()


def test_a_second_run_reuses_every_record(small_sweep: Path, tmp_path: Path) -> None:
    run_sweep(small_sweep, tmp_path / "out", "none", progress=False)
    first = computed_table(tmp_path / "out" / "results.csv")
    records = sorted((tmp_path / "out" / "records").glob("*.json"))
    records[0].write_text(records[0].read_text()[:40])  # a torn record counts as missing
    again = run_sweep(small_sweep, tmp_path / "out", "none", progress=False)
    assert (again.reused, again.ran) == (5, 1)
    assert computed_table(again.table) == first


def test_a_failing_task_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, f"""
models: [{EXAMPLE / 'digits_lif.nir'}]
targets: [reference]
pipelines: [[prune.magnitude:fraction=2], []]
input: {{path: {EXAMPLE / 'digits_test.npz'}, samples: 20}}
""")
    summary = run_sweep(path, tmp_path / "out", "none", progress=False)
    rows = computed_table(summary.table)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "fraction" in rows[0]["error"]
    assert summary.failed == 1
    again = run_sweep(path, tmp_path / "out", "none", progress=False, retry_errors=True)
    assert (again.reused, again.ran) == (1, 1)


def test_interrupted_sweep_keeps_whole_records_and_resumes(tmp_path: Path) -> None:
    # The test set four times over: each task takes a second or more, so the sweep is
    # still running when the first record appears and the interrupt lands mid-sweep.
    with np.load(EXAMPLE / "digits_test.npz") as data:
        np.savez(tmp_path / "big.npz", spikes=np.concatenate([data["spikes"]] * 4),
                 labels=np.concatenate([data["labels"]] * 4))
    path = write_sweep(tmp_path, f"""
models: [{EXAMPLE / 'digits_lif.nir'}]
targets: [reference, loihi2]
pipelines: [[], [prune.magnitude:fraction=0.5]]
weight_bits: [8, 7, 6, 5, 4, 3]
input: {tmp_path / 'big.npz'}
""")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "neurocc.cli", "sweep", str(path), "-o",
                                str(out), "--scheduler", "none", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "records").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    kept = sorted((out / "records").glob("*.json"))
    total = len(expand(read_sweep(path)))  # 2 reference + 2 x 6 loihi2
    assert 1 <= len(kept) < total
    for record in kept:  # every record whole
        assert json.loads(record.read_text())["key"] == record.stem
    assert len(computed_table(out / "results.csv")) == len(kept)  # no partial rows
    resumed = run_sweep(path, out, "none", progress=False)
    assert (resumed.reused, resumed.ran) == (len(kept), total - len(kept))
    fresh = run_sweep(path, tmp_path / "fresh", "none", progress=False)
    assert computed_table(resumed.table) == computed_table(fresh.table)


def test_local_cluster_of_two_workers_gives_the_serial_table(small_sweep: Path,
                                                             tmp_path: Path) -> None:
    serial = run_sweep(small_sweep, tmp_path / "serial", "none", progress=False)
    local = run_sweep(small_sweep, tmp_path / "local", "local", progress=False, n_workers=2)
    assert "LocalCluster of 2" in local.executor
    assert computed_table(local.table) == computed_table(serial.table)
    workers = {json.loads(p.read_text())["worker"]
               for p in (tmp_path / "local" / "records").glob("*.json")}
    assert all(not w.endswith(f":{__import__('os').getpid()}") for w in workers)


def test_pareto_front_by_hand() -> None:
    # (energy, accuracy): b beats a (cheaper, as accurate); d is dominated by c.
    points = [(2.0, 0.90), (1.0, 0.90), (3.0, 0.95), (4.0, 0.94), (0.5, 0.50)]
    assert pareto_front(points) == [4, 1, 2]
