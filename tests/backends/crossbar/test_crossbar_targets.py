"""Crossbar target files: both packaged targets load, and each malformed file is refused
naming the key (device kinds, ranges, rates)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from neurocc.backends import load_target, resolve_target
from neurocc.compiler.errors import TargetError


def edited(tmp_path: Path, target: str, edit) -> Path:
    info = resolve_target(target)
    assert info.path is not None
    data = yaml.safe_load(info.path.read_text())
    edit(data)
    copy = tmp_path / "copy.yaml"
    copy.write_text(yaml.safe_dump(data))
    return copy


def test_packaged_targets_load_with_their_device_kinds() -> None:
    rram, pcm = load_target("rram256k"), load_target("pcm256")
    assert (rram.kind, pcm.kind) == ("rram", "pcm")
    assert rram.rows * rram.cols * rram.tiles_per_chip == 256 * 1024  # the 256 Kb macro
    assert pcm.tiles_per_chip == 64 and pcm.g_max_us == 25.0
    assert "switching_set_mean_us" in rram.entries and "read_time_ns" in pcm.entries
    assert "switching_set_mean_us" not in pcm.entries


def test_every_number_has_a_source_and_assumptions_are_marked() -> None:
    for name in ("rram256k", "pcm256"):
        spec = load_target(name)
        assert all(entry.source.strip() for entry in spec.entries.values())
    assert load_target("rram256k").entries["switching_set_std_us"].status == "assumed"


def set_value(section: str, key: str, value):
    def edit(data):
        data[section][key]["value"] = value
    return edit


@pytest.mark.parametrize(("target", "section", "key", "value", "message"), [
    ("rram256k", "device", "kind", "flash", r"device\.kind.*one of \['rram', 'pcm'\]"),
    ("rram256k", "array", "g_min_us", 50.0, r"array\.g_min_us.*below g_max_us"),
    ("rram256k", "array", "cols", 255, r"array\.cols.*even"),
    ("rram256k", "device", "stuck_on_rate", 1.5, r"stuck_on_rate \+ stuck_off_rate <= 1"),
    ("pcm256", "device", "drift_nu_mean_min", 0.5, r"drift_nu_mean_min.*<= drift_nu_mean_max"),
    ("pcm256", "converters", "adc_bits", 1, r"converters\.adc_bits.*>= 2"),
    ("pcm256", "array", "levels", 2.5, r"array\.levels.*an integer"),
])
def test_bad_values_are_refused_naming_the_key(tmp_path, target, section, key, value,
                                               message) -> None:
    copy = edited(tmp_path, target, set_value(section, key, value))
    with pytest.raises(TargetError, match=message):
        load_target(copy)


def test_a_key_of_the_device_kind_must_be_given(tmp_path) -> None:
    copy = edited(tmp_path, "pcm256", lambda d: d["device"].pop("read_time_ns"))
    with pytest.raises(TargetError, match=r"device\.read_time_ns.*missing.*'pcm'"):
        load_target(copy)


def test_a_key_of_another_device_kind_is_refused(tmp_path) -> None:
    def edit(data):
        data["device"]["switching_set_mean_us"] = {"value": 20.0, "source": "x"}
    copy = edited(tmp_path, "pcm256", edit)
    with pytest.raises(TargetError, match=r"switching_set_mean_us.*kind 'rram'.*remove"):
        load_target(copy)


def test_a_switched_kind_needs_its_own_keys(tmp_path) -> None:
    copy = edited(tmp_path, "pcm256", set_value("device", "kind", "rram"))
    with pytest.raises(TargetError, match=r"device\.(read_noise_exponent|switching_set_mean_us)"):
        load_target(copy)


def test_unknown_device_key_is_refused(tmp_path) -> None:
    def edit(data):
        data["device"]["nu_typo"] = {"value": 1.0, "source": "x"}
    copy = edited(tmp_path, "rram256k", edit)
    with pytest.raises(TargetError, match=r"device\.nu_typo.*not a known key"):
        load_target(copy)
