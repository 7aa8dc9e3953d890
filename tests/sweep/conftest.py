"""A small sweep over the digits example, written into the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import EXAMPLE, write_sweep


@pytest.fixture
def small_sweep(tmp_path: Path) -> Path:
    """reference x 2 pipelines, loihi2 x 2 pipelines x 2 widths: 6 tasks on 60 digits."""
    return write_sweep(tmp_path, f"""
models: [{{path: {EXAMPLE / 'digits_lif.nir'}, name: digits}}]
targets: [reference, loihi2]
pipelines: [[], [prune.magnitude:fraction=0.5]]
weight_bits: [8, 4]
device_seeds: [0, 1]
input: {{path: {EXAMPLE / 'digits_test.npz'}, samples: 60}}
""")
