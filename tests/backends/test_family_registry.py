"""Dispatch goes through the family registry: clear errors naming the families that can."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import neurocc
from neurocc.backends import load_target, target_of
from neurocc.backends.family import FAMILIES, demo_targets, register_family, unregister_family
from neurocc.cli import main
from neurocc.compiler.errors import MappingError, NeuroccError, TargetError
from neurocc.compiler.graph import Graph, Population, Projection


def small_graph(model: str = "lif") -> Graph:
    params = {"tau_s": 2e-3, "v_threshold": 1.0} if model == "lif" else {"v_threshold": 1.0}
    pops = {"in": Population("in", "input", (2,)),
            "h": Population("h", model, (2,), params, "to_value" if model == "lif" else "none")}
    return Graph(1e-3, pops, {"w": Projection("w", "in", "h", np.eye(2))}, ("in",), ("h",))


def test_registry_holds_the_builtin_families_with_their_records() -> None:
    assert {"reference", "loihi"} <= set(FAMILIES)
    assert demo_targets()[0] == "reference" and "loihi2" in demo_targets()
    assert "lava" in FAMILIES["loihi"].exporters and "lava" in FAMILIES["loihi"].verifiers


def test_a_family_without_an_exact_engine_is_an_error_not_a_fallback() -> None:
    bare = dataclasses.replace(FAMILIES["reference"], name="bare", exact_engine=None,
                               demo_target=None)
    register_family(bare)
    try:
        artifact = dataclasses.replace(neurocc.compile(small_graph()), family="bare")
        with pytest.raises(NeuroccError, match=r"family 'bare': has no exact engine.*"
                                               r"Families with one: crossbar, loihi, reference"):
            neurocc.simulate(artifact, np.zeros((1, 3, 2)), engine="exact")
        assert neurocc.simulate(artifact, np.zeros((1, 3, 2)), engine="reference").output.shape \
            == (1, 3, 2)
    finally:
        unregister_family("bare")


def test_device_seeds_need_a_seed_engine_option() -> None:
    seeded = dataclasses.replace(FAMILIES["reference"], name="seeded", device_seeds=3,
                                 demo_target=None)
    with pytest.raises(NeuroccError, match=r"device_seeds = 3.*no field 'seed'"):
        register_family(seeded)
    with pytest.raises(NeuroccError, match="engine_options must be a dataclass"):
        register_family(dataclasses.replace(seeded, device_seeds=0, engine_options=int))
    assert "seeded" not in FAMILIES


def test_unknown_family_options_are_refused_with_the_list() -> None:
    with pytest.raises(NeuroccError, match=r"option 'colour'.*reset_policy, calibration_spikes"):
        neurocc.compile(small_graph(), "loihi2", colour="red")
    with pytest.raises(NeuroccError, match=r"option 'reset_policy'.*'sometimes'"):
        neurocc.compile(small_graph(), "loihi2", reset_policy="sometimes")
    with pytest.raises(NeuroccError, match=r"not an option.*Options: none"):
        neurocc.compile(small_graph(), "reference", reset_policy="approximate")


def test_a_model_the_family_cannot_map_names_the_population() -> None:
    with pytest.raises(MappingError, match=r"population 'h' \(threshold\).*family 'loihi' maps"):
        neurocc.compile(small_graph("threshold"), "loihi2")


def test_the_artifact_carries_the_resolved_target_and_options() -> None:
    artifact = neurocc.compile(small_graph(), "loihi2", reset_policy="approximate")
    assert target_of(artifact).to_dict() == load_target("loihi2").to_dict()
    assert artifact.layout["options"] == {"reset_policy": "approximate",
                                          "calibration_spikes": None,
                                          "weight_scaling": "max"}
    broken = dataclasses.replace(artifact, layout={**artifact.layout, "target": {
        **artifact.layout["target"], "synapse": {}}})
    with pytest.raises(TargetError, match=r"artifact 'loihi2' target: key 'synapse.weight_bits'"):
        target_of(broken)


def test_an_option_that_only_shows_progress_leaves_the_artifact_unchanged(tmp_path: Path
                                                                        ) -> None:
    neurocc.compile(small_graph(), "loihi2", out=tmp_path / "quiet")
    shown = neurocc.compile(small_graph(), "loihi2", out=tmp_path / "shown", progress=True)
    assert "progress" not in shown.layout["options"]
    for path in sorted((tmp_path / "quiet").iterdir()):
        assert path.read_bytes() == (tmp_path / "shown" / path.name).read_bytes(), path.name


def test_cli_family_flags_are_generated_and_checked(tmp_path: Path, capsys) -> None:
    import nir

    nir.write(tmp_path / "m.nir", nir.NIRGraph(
        {"input": nir.Input(input_type=np.array([2])),
         "fc": nir.Affine(weight=np.eye(2), bias=np.zeros(2)),
         "lif": nir.LIF(tau=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2),
                        v_threshold=np.ones(2), v_reset=np.zeros(2)),
         "output": nir.Output(output_type=np.array([2]))},
        [("input", "fc"), ("fc", "lif"), ("lif", "output")], metadata={"dt": 1e-3}))
    model, out = str(tmp_path / "m.nir"), str(tmp_path / "a")
    assert main(["compile", model, "--target", "reference", "--reset-policy", "approximate",
                 "-o", out]) == 2
    assert "--reset-policy: is an option of family loihi, not of 'reference'" in \
        capsys.readouterr().err
    assert not Path(out).exists()
    np.savez(tmp_path / "cal.npz", spikes=np.ones((1, 4, 2), np.uint8))
    assert main(["compile", model, "--target", "loihi2", "--calibration-spikes",
                 str(tmp_path / "cal.npz"), "--pass", "prune.magnitude:threshold=0.5",
                 "-o", out]) == 0
    capsys.readouterr()
    assert main(["info", out]) == 0
    info = capsys.readouterr().out
    assert "pipeline: prune.magnitude -> loihi.quantize -> loihi.timing -> loihi.map" in info
    assert "pass prune.magnitude (threshold=0.5)" in info
    assert "lowering loihi.quantize" in info


def test_cli_export_and_verify_dispatch_by_family(tmp_path: Path, capsys) -> None:
    neurocc.compile(small_graph(), "reference", out=tmp_path / "r")
    np.savez(tmp_path / "in.npz", spikes=np.zeros((1, 3, 2), np.uint8))
    assert main(["export", "lava", str(tmp_path / "r"), "-o", str(tmp_path / "n.py")]) == 2
    assert "family 'reference': has no exporter 'lava' (it has none). Families with " \
           "exporter 'lava': loihi." in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "r"), "--against", "lava", "--input",
                 str(tmp_path / "in.npz")]) == 2
    assert "has no verifier 'lava'" in capsys.readouterr().err
    assert not (tmp_path / "n.py").exists()


def test_cli_passes_lists_options(capsys) -> None:
    assert main(["passes"]) == 0
    out = capsys.readouterr().out
    assert "prune.magnitude:" in out and "fraction (float, default none)" in out


def test_an_engine_counter_outside_the_vocabulary_is_refused() -> None:
    from neurocc.sim.reference import run_artifact

    def noisy(artifact, spikes, **kwargs):
        result = run_artifact(artifact, spikes, **kwargs)
        return dataclasses.replace(result, counters={**result.counters, "flops": 3})

    noisy_family = dataclasses.replace(FAMILIES["reference"], name="noisy", demo_target=None,
                                       exact_engine=f"{__name__}:NOISY")
    globals()["NOISY"] = noisy
    register_family(noisy_family)
    try:
        artifact = dataclasses.replace(neurocc.compile(small_graph()), family="noisy")
        with pytest.raises(NeuroccError, match=r"engine 'exact'.*\['flops'\] outside the shared"):
            neurocc.simulate(artifact, np.zeros((1, 3, 2)))
    finally:
        unregister_family("noisy")


def test_a_network_spec_given_as_target_says_so(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("kind: network\nname: n\n")
    with pytest.raises(TargetError, match=r"is a network spec \(kind: network\), not a target "
                                          r"file.*Pass it as the model"):
        neurocc.compile(small_graph(), spec)
