"""examples/yaml: the shipped spec reads, and its one-command run works for both targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from neurocc.frontends.yaml import is_network_spec, read_network_yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "yaml"


def test_shipped_spec_lowers_as_written():
    graph = read_network_yaml(EXAMPLE / "network.yaml")
    assert is_network_spec(EXAMPLE / "network.yaml")
    assert [p.model for p in graph.populations.values()] == ["input", "lif", "li"]
    assert graph.populations["sheet"].params["v_threshold"][0] == 10.0  # 10 mV in mV units
    assert int(graph.projections["lateral"].delay_steps) == 1
    assert graph.projections["readout_weights"].shape == (4, 36)


def test_run_compiles_and_simulates_both_targets(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("yaml_example_run", EXAMPLE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out-dir", str(tmp_path), "--steps", "30", "--batch", "2"]) == 0
    printed = capsys.readouterr().out
    assert "loihi2 vs reference" in printed
    assert (tmp_path / "reference" / "manifest.json").is_file()
    assert (tmp_path / "loihi2" / "manifest.json").is_file()
