"""Target files: packaged ones load, a user's copy compiles, malformed files fail clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from neurocc.backends.loihi.spec import TARGETS_DIR, load_loihi_target, packaged_targets
from neurocc.compiler.errors import TargetError


def raw(name: str = "loihi1") -> dict[str, Any]:
    return yaml.safe_load((TARGETS_DIR / f"{name}.yaml").read_text())


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_packaged_targets_load_with_the_published_figures() -> None:
    assert packaged_targets() == ["loihi1", "loihi2"]
    one, two = load_loihi_target("loihi1"), load_loihi_target("loihi2")
    assert (one.neurons_per_core, one.fan_in_axons_per_core, one.cores_available) == (1024, 4096,
                                                                                      128)
    assert one.energy_per_synop_pj == 23.6 and one.entries["energy_per_synop_pj"].bound == \
        "minimum"
    assert one.time_per_synop_ns == 3.5 and one.entries["time_per_synop_ns"].bound == "maximum"
    assert (one.u_bits, one.du_bits, one.vth_bits, one.bias_mant_bits) == (24, 12, 17, 13)
    assert (one.du_offset, one.dv_offset, two.du_offset, two.dv_offset) == (1, 0, 1, 0)
    assert (one.vth_max, one.bias_mant_min, one.bias_mant_max) == (131071, -4096, 4095)
    assert two.neurons_per_core == 8192
    # Loihi 2 per-op energies are Loihi 1's, marked as an assumption
    assert two.energy_per_synop_pj == one.energy_per_synop_pj
    assert two.entries["energy_per_synop_pj"].status == "assumed"
    assert "ASSUMPTION" in (TARGETS_DIR / "loihi2.yaml").read_text()


def test_every_number_has_a_source() -> None:
    for name in packaged_targets():
        spec = load_loihi_target(name)
        assert all(entry.source.strip() for entry in spec.entries.values())


def test_a_users_modified_copy_loads_from_a_path(tmp_path: Path) -> None:
    data = raw()
    data["name"] = "my-loihi"
    data["core"]["neurons_per_core"]["value"] = 64
    spec = load_loihi_target(write(tmp_path, data))
    assert spec.name == "my-loihi" and spec.neurons_per_core == 64
    assert spec.to_dict()["core"]["neurons_per_core"]["value"] == 64


def _mutate(data: dict[str, Any], case: str) -> str:
    """Break ``data`` one way; return the key the error must name."""
    if case == "missing":
        del data["core"]["fan_in_axons_per_core"]
        return "fan_in_axons_per_core"
    if case == "wrong_type":
        data["synapse"]["weight_bits"]["value"] = "eight"
        return "weight_bits"
    if case == "float_for_int":
        data["mesh"]["chips"]["value"] = 1.5
        return "chips"
    if case == "negative":
        data["core"]["neurons_per_core"]["value"] = -4
        return "neurons_per_core"
    if case == "unknown_key":
        data["core"]["neurons_per_cor"] = {"value": 4, "source": "typo"}
        return "neurons_per_cor"
    if case == "unknown_section":
        data["thermal"] = {}
        return "thermal"
    if case == "no_source":
        del data["energy"]["energy_per_synop_pj"]["source"]
        return "energy_per_synop_pj"
    if case == "bad_bound":
        data["energy"]["energy_per_synop_pj"]["bound"] = "roughly"
        return "energy_per_synop_pj"
    if case == "mesh":
        data["mesh"]["tiles_x"]["value"] = 7
        return "cores_per_chip"
    if case == "decay":  # 2^13 - 1 + du_offset exceeds a decay of 1 (2^12)
        data["neuron"]["du_bits"]["value"] = 13
        return "du_bits"
    if case == "family":
        data["family"] = "spinnaker"
        return "family"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "wrong_type", "float_for_int", "negative",
                                  "unknown_key", "unknown_section", "no_source", "bad_bound",
                                  "mesh", "decay", "family"])
def test_malformed_files_name_the_file_and_the_key(tmp_path: Path, case: str) -> None:
    data = raw()
    key = _mutate(data, case)
    path = write(tmp_path, data)
    with pytest.raises(TargetError) as info:
        load_loihi_target(path)
    assert str(path) in str(info.value) and key in str(info.value)


def test_unknown_target_name_lists_the_packaged_ones() -> None:
    with pytest.raises(TargetError, match="loihi1, loihi2"):
        load_loihi_target("loihi9")


def test_unreadable_yaml_is_a_target_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("mesh: [unclosed")
    with pytest.raises(TargetError, match="YAML"):
        load_loihi_target(path)
