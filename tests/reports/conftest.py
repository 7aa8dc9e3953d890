"""A side-by-side report of the shipped example on every family's demo target (built once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocc
from neurocc.backends.family import demo_targets
from neurocc.compare import compare_artifacts
from neurocc.demo import EXAMPLE_DIR, EXAMPLE_MODEL
from neurocc.figures import all_figures
from neurocc.report_page import write_report


@pytest.fixture(scope="session")
def example_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("report")
    with np.load(EXAMPLE_DIR / "digits_test.npz") as data:
        spikes, labels = data["spikes"][:40], data["labels"][:40]
    graph = neurocc.load(EXAMPLE_MODEL)
    dirs = [neurocc.compile(graph, t, out=root / t).path for t in demo_targets()]
    record, runs = compare_artifacts(dirs, spikes, labels, input_name="digits_test[:40]",
                                     progress=False)
    return write_report(record, all_figures(record, runs), root / "report"), record
