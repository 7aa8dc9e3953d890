"""Artifacts are written atomically and deterministically, and checked on load."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neurocc.backends import artifact as artifact_io
from neurocc.backends.artifact import Artifact, npz_bytes, read_artifact, write_artifact
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


# -- format 2: narrowest exact dtypes, compression where it pays, checksums over stored bytes --
def stored_dtypes(path: Path) -> dict[str, np.dtype]:
    """The dtype each member's .npy header declares, read with plain numpy."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name].dtype for name in data.files}


def compress_types(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: info.compress_type for info in archive.infolist()}


def artifact_with(arrays: dict[str, np.ndarray]) -> Artifact:
    return dataclasses.replace(make_artifact(), sections={"chip": arrays})


INTEGER_CASES = [  # values, dtype they are stored at
    (np.array([0, 200, 255]), np.uint8),
    (np.array([-1, 0, 127]), np.int8),
    (np.array([-210, 198]), np.int16),  # a Loihi weight mantissa range
    (np.array([0, 70_000]), np.uint32),
    (np.array([-(2**40), 2**40]), np.int64),
    (np.array(4765), np.uint16),  # 0-d stays 0-d
]


@pytest.mark.parametrize(("values", "stored"), INTEGER_CASES)
def test_integers_are_stored_at_the_narrowest_dtype_and_read_back_as_int64(
        tmp_path: Path, values: np.ndarray, stored: type) -> None:
    out = write_artifact(artifact_with({"x": values.astype(np.int64)}), tmp_path / "a")
    assert stored_dtypes(out / "chip.npz")["x"] == np.dtype(stored)
    loaded = read_artifact(out).sections["chip"]["x"]
    assert loaded.dtype == np.int64 and loaded.shape == values.shape
    assert np.array_equal(loaded, values)


def test_bool_and_uint8_are_kept_and_read_back_as_written(tmp_path: Path) -> None:
    arrays = {"mask": np.array([True, False, True]), "spikes": np.array([0, 1, 9], np.uint8)}
    out = write_artifact(artifact_with(arrays), tmp_path / "a")
    assert stored_dtypes(out / "chip.npz") == {"mask": np.dtype(bool), "spikes": np.dtype(np.uint8)}
    loaded = read_artifact(out).sections["chip"]
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and np.array_equal(loaded[name], array)


FLOAT_CASES = [  # values, dtype they are stored at
    (np.array([0.5, -2.25, 1.0, 304960.0, 0.0, -0.0]), np.float32),
    (np.array([1.0, 0.1]), np.float64),  # 0.1 has no exact float32
    (np.array([1.0, 2.0**24 + 1]), np.float64),  # needs 25 mantissa bits
    (np.array([1e-300]), np.float64),  # underflows in float32
    (np.array([1.0, np.nan]), np.float64),  # NaN never counts as exact
    (np.full(5000, 0.75), np.float32),  # beyond the early-exit head
]


@pytest.mark.parametrize(("values", "stored"), FLOAT_CASES)
def test_float64_is_stored_as_float32_only_when_every_value_is_exact(
        tmp_path: Path, values: np.ndarray, stored: type) -> None:
    out = write_artifact(artifact_with({"x": values}), tmp_path / "a")
    assert stored_dtypes(out / "chip.npz")["x"] == np.dtype(stored)
    loaded = read_artifact(out).sections["chip"]["x"]
    assert loaded.dtype == np.float64
    assert np.array_equal(loaded, values, equal_nan=True)
    assert np.array_equal(np.signbit(loaded), np.signbit(values))  # -0.0 survives


def test_one_inexact_value_late_in_the_array_keeps_float64(tmp_path: Path) -> None:
    values = np.full(5000, 0.5)
    values[-1] = 0.1
    out = write_artifact(artifact_with({"x": values}), tmp_path / "a")
    assert stored_dtypes(out / "chip.npz")["x"] == np.float64


def test_graph_arrays_are_narrowed_and_the_graph_reads_back_unchanged(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    stored = stored_dtypes(out / "graph.npz")
    assert stored["pop/h/v_threshold"] == np.float32  # 1.0 is exact
    assert stored["pop/h/tau_s"] == np.float64  # 2e-3 is not
    assert stored["proj/w/delay_steps"] == np.uint8
    graph = read_artifact(out).graph
    assert graph.projections["w"].delay_steps.dtype == np.int64
    assert graph.projections["w"].weight.dtype == np.float64
    assert all(v.dtype == np.float64 for v in graph.populations["h"].params.values())


def test_incompressible_arrays_are_stored_and_compressible_ones_deflated(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"weights": rng.standard_normal((1000, 100)),  # 800 kB, random mantissas
              "cores": np.repeat(np.arange(40), 1000),  # 40 000 ints with long runs
              "vth": np.array(4765)}
    out = write_artifact(artifact_with(arrays), tmp_path / "a")
    types = compress_types(out / "chip.npz")
    assert types["weights.npy"] == zipfile.ZIP_STORED
    assert types["cores.npy"] == zipfile.ZIP_DEFLATED
    assert types["vth.npy"] == zipfile.ZIP_DEFLATED
    with np.load(out / "chip.npz") as plain:  # still a plain .npz
        assert np.array_equal(plain["weights"], arrays["weights"])
        assert np.array_equal(plain["cores"], arrays["cores"])


def test_mixed_files_are_byte_identical_when_written_twice(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {"weights": rng.standard_normal((300, 300)), "mant": rng.integers(-200, 200, 90_000),
              "scale": np.full(300, 304960.0)}
    first = write_artifact(artifact_with(arrays), tmp_path / "a")
    second = write_artifact(artifact_with(dict(reversed(arrays.items()))), tmp_path / "b")
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()


def test_members_written_in_slices_are_the_bytes_of_one_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a large member is written (and deflated) slice by slice: the archive is the one a single
    # zipfile.writestr of the whole member gives (the earlier way), stored and deflated alike
    rng = np.random.default_rng(2)
    arrays = {"cores": np.repeat(np.arange(400), 250), "weights": rng.standard_normal(20_000)}
    monkeypatch.setattr(artifact_io, "_WRITE_BLOCK_BYTES", 1000)
    sliced = write_artifact(artifact_with(arrays), tmp_path / "a") / "chip.npz"
    one = tmp_path / "one.npz"
    with zipfile.ZipFile(one, "w") as archive:
        for name in sorted(arrays):
            stored = artifact_io.narrowest(arrays[name])
            data = artifact_io._npy_header(stored) + stored.tobytes()
            deflate = compress_types(sliced)[f"{name}.npy"] == zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                             data, compress_type=zipfile.ZIP_DEFLATED if deflate
                             else zipfile.ZIP_STORED, compresslevel=1 if deflate else None)
    assert set(compress_types(sliced).values()) == {zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED}
    assert sliced.read_bytes() == one.read_bytes()


def test_one_flipped_byte_in_a_stored_array_fails_the_checksum(tmp_path: Path) -> None:
    weights = np.random.default_rng(2).standard_normal((200, 200))
    out = write_artifact(artifact_with({"weights": weights}), tmp_path / "a")
    data = bytearray((out / "chip.npz").read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the stored float data: still a valid zip
    (out / "chip.npz").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        read_artifact(out)


def test_each_file_is_read_once_and_checked_on_those_bytes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    reads: list[str] = []
    original = Path.read_bytes

    def counting(path: Path) -> bytes:
        reads.append(path.name)
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", counting)
    monkeypatch.setattr(np.lib.format, "write_array", None)  # reading never re-encodes
    read_artifact(out)
    assert sorted(reads) == ["chip.npz", "graph.npz"]


def test_manifest_lists_the_in_memory_dtype_of_narrowed_arrays(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == 2
    assert manifest["narrowed"]["chip.npz"] == {"pop/h/vth": "int64", "proj/w/weight": "int64"}
    assert "pop/h/tau_s" not in manifest["narrowed"]["graph.npz"]


def test_format_1_artifacts_still_read(tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    section = {"pop/h/vth": np.array(7), "proj/w/weight": np.arange(6).reshape(3, 2)}
    (out / "chip.npz").write_bytes(npz_bytes(section))  # the format-1 writer: all int64
    manifest.update(format_version=1, files={
        **manifest["files"], "chip.npz": hashlib.sha256(npz_bytes(section)).hexdigest()})
    del manifest["narrowed"]["chip.npz"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    loaded = read_artifact(out)
    assert loaded.sections["chip"]["proj/w/weight"].dtype == np.int64


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="Python objects"):
        write_artifact(artifact_with({"bad": np.array([{"a": 1}], dtype=object)}), tmp_path / "a")
    assert not (tmp_path / "a").exists()


def test_stored_arrays_read_back_writable_and_aligned_like_np_load(tmp_path: Path) -> None:
    weights = np.random.default_rng(3).standard_normal((300, 300))
    out = write_artifact(artifact_with({"weights": weights, "vth": np.array(7)}), tmp_path / "a")
    loaded = read_artifact(out).sections["chip"]
    assert compress_types(out / "chip.npz")["weights.npy"] == zipfile.ZIP_STORED
    for array in loaded.values():
        assert array.flags.writeable and array.flags.aligned and array.flags.c_contiguous
    assert np.array_equal(loaded["weights"], weights) and loaded["vth"].shape == ()


def test_a_damaged_archive_with_a_matching_checksum_says_it_cannot_be_read(
        tmp_path: Path) -> None:
    out = write_artifact(make_artifact(), tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["chip.npz"] = hashlib.sha256(b"garbage").hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "chip.npz").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="cannot be read"):
        read_artifact(out)
