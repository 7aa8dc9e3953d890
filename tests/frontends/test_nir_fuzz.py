"""Fuzzing the NIR reader: mutated copies of real files end in a Graph or a NeuroccError.

Each case takes one file of the corpus (the shipped digits model and small
models written here, compressed and not), mutates it (truncation, bit flips
and zeroed ranges, mostly in the HDF5 metadata where they find hangs, appended
bytes, or a structural edit through h5py) and loads it with ``neurocc.load``
under a short read deadline. A Graph must then compile for ``reference`` and
run a few steps. Any exception other than a NeuroccError, or a read that does
not return, fails the case. Cases are numbered and seeded: a failure names
the case, and ``case_file(corpus, n, dir)`` re-creates its file.

``tests/frontends/fuzz_cases/`` keeps files found by longer campaigns that hang
plain h5py and ``nir.read`` (see its README). A campaign, by hand:
``python -W error tests/frontends/test_nir_fuzz.py CASES [FIRST_CASE] [FOLDER]``
prints one line per case and keeps the files that timed out or failed.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest

import neurocc
from neurocc.compiler.errors import NeuroccError

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits" / "digits_lif.nir"
FUZZ_CASES = Path(__file__).with_name("fuzz_cases")
SEED = 20240613
DEFAULT_CASES = 150  # in the default suite: about 40 s here
SLOW_CASES = 2000
FUZZ_TIMEOUT_S = 5.0  # good files read in ~20 ms; hanging ones cost this much each
REGRESSION_TIMEOUT_S = 1.0  # for the kept files, known to hang
SIM_STEPS = 3
TIMED_OUT = "was not read within"


# -- the corpus ---------------------------------------------------------------------
def _lif(shape: tuple[int, ...]) -> nir.LIF:
    return nir.LIF(tau=np.full(shape, 0.01), r=np.ones(shape), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def small_lif() -> nir.NIRGraph:
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "fc": nir.Affine(weight=np.linspace(-1, 1, 6).reshape(2, 3), bias=np.zeros(2)),
             "lif": _lif((2,)), "output": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes, edges, metadata={"dt": 1e-3}, type_check=False)


def conv_net() -> nir.NIRGraph:
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 1, 3, 3)) / 9, stride=1,
                                padding=1, dilation=1, groups=1, bias=np.zeros(2)),
             "lif": _lif((2, 4, 4)),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                   padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type={"input": np.array([2, 2, 2])}),
             "fc": nir.Linear(weight=np.ones((2, 8))), "out": nir.IF(r=np.ones(2),
                                                                   v_threshold=np.ones(2))}
    edges = [("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"),
             ("flat", "fc"), ("fc", "out")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def recurrent_nested() -> nir.NIRGraph:
    sub = nir.NIRGraph({
        "input": nir.Input(input_type={"input": np.array([2])}),
        "lif": nir.CubaLIF(tau_syn=np.full(2, 0.005), tau_mem=np.full(2, 0.01), r=np.ones(2),
                           v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        "rec": nir.Linear(weight=np.eye(2) * 0.5),
        "output": nir.Output(output_type={"output": np.array([2])})},
        [("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")], type_check=False)
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "delay": nir.Delay(delay=np.array([0.002, 0.001])), "sub": sub,
             "li": nir.LI(tau=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2))}
    edges = [("input", "delay"), ("delay", "sub"), ("sub", "li")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def write_corpus(folder: Path) -> list[Path]:
    """The files every case starts from: real exports, compressed (nir's default) or not."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "digits_lif.nir"]
    shutil.copyfile(DIGITS, paths[0])
    for name, graph in (("small", small_lif()), ("conv", conv_net()),
                        ("nested", recurrent_nested())):
        for compression in ("gzip", None):
            path = folder / f"{name}_{compression or 'raw'}.nir"
            nir.write(path, graph, compression=compression)
            paths.append(path)
    with h5py.File(paths[-1], "r+") as handle:  # a legacy file: subtract reset
        del handle["version"]
        handle.create_dataset("version", data="1.0.5", dtype=h5py.string_dtype())
    return paths


# -- byte mutations ---------------------------------------------------------------------
def data_ranges(path: Path) -> list[tuple[int, int]]:
    """Byte ranges holding raw dataset values (the rest is HDF5 metadata)."""
    ranges: list[tuple[int, int]] = []

    def visit(_name: str, item: object) -> None:
        if not isinstance(item, h5py.Dataset):
            return
        offset = item.id.get_offset()
        if offset is not None:
            ranges.append((offset, offset + item.id.get_storage_size()))
        elif item.chunks is not None:
            for i in range(item.id.get_num_chunks()):
                info = item.id.get_chunk_info(i)
                ranges.append((info.byte_offset, info.byte_offset + info.size))

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return ranges


def metadata_positions(path: Path) -> np.ndarray:
    mask = np.ones(path.stat().st_size, dtype=bool)
    for start, stop in data_ranges(path):
        mask[start:stop] = False
    return np.flatnonzero(mask)


def _positions(rng: np.random.Generator, size: int, meta: np.ndarray, count: int) -> np.ndarray:
    """Offsets to damage: in the metadata three times out of four (hangs live there)."""
    if rng.random() < 0.75:
        return rng.choice(meta, size=count)
    return rng.integers(0, size, size=count)


def flip_bits(data: bytearray, rng: np.random.Generator, meta: np.ndarray) -> str:
    count = int(rng.integers(1, 9))
    for pos in _positions(rng, len(data), meta, count):
        data[pos] ^= 1 << int(rng.integers(0, 8))
    return f"flip {count} bits"


def zero_range(data: bytearray, rng: np.random.Generator, meta: np.ndarray) -> str:
    start = int(_positions(rng, len(data), meta, 1)[0])
    length = int(rng.integers(1, 257))
    data[start:start + length] = bytes(len(data[start:start + length]))
    return f"zero {length} bytes at {start}"


def random_bytes(data: bytearray, rng: np.random.Generator, meta: np.ndarray) -> str:
    start = int(_positions(rng, len(data), meta, 1)[0])
    length = int(rng.integers(1, 17))
    data[start:start + length] = rng.bytes(len(data[start:start + length]))
    return f"random {length} bytes at {start}"


def truncate(data: bytearray, rng: np.random.Generator, meta: np.ndarray) -> str:
    size = int(rng.integers(0, len(data)))
    del data[size:]
    return f"truncate to {size}"


def append(data: bytearray, rng: np.random.Generator, meta: np.ndarray) -> str:
    length = int(rng.integers(1, 4097))
    data.extend(rng.bytes(length))
    return f"append {length} bytes"


ByteMutation = Callable[[bytearray, np.random.Generator, np.ndarray], str]
BYTE_MUTATIONS: dict[ByteMutation, int] = {flip_bits: 8, zero_range: 3, random_bytes: 3,
                                           truncate: 2, append: 1}  # relative weights


# -- structural edits through h5py --------------------------------------------------------
def _items(handle: h5py.File, kind: type) -> list[str]:
    found: list[str] = []
    handle.visititems(lambda name, item: found.append(name) if isinstance(item, kind) else None)
    return sorted(found)


def _pick(rng: np.random.Generator, names: list[str]) -> str:
    return names[int(rng.integers(0, len(names)))]


def _replace(handle: h5py.File, name: str, data: object, **kw: object) -> None:
    del handle[name]
    handle.create_dataset(name, data=data, **kw)


def delete_object(handle: h5py.File, rng: np.random.Generator) -> str:
    name = _pick(rng, _items(handle, h5py.Dataset) + _items(handle, h5py.Group))
    del handle[name]
    return f"delete {name}"


def change_dtype(handle: h5py.File, rng: np.random.Generator) -> str:
    name = _pick(rng, _items(handle, h5py.Dataset))
    value = np.asarray(handle[name][()])
    choice = int(rng.integers(0, 6))
    if choice == 0 or value.dtype.kind in "OS":
        _replace(handle, name, np.zeros(value.shape, dtype=np.float32) + 1.5)
    elif choice == 1:
        _replace(handle, name, value.astype(np.complex128))
    elif choice == 2:
        _replace(handle, name, value.astype(np.int8))
    elif choice == 3:
        _replace(handle, name, np.zeros(value.shape, dtype=[("a", "<f8"), ("b", "<i4")]))
    elif choice == 4:
        _replace(handle, name, value.astype(np.float16))
    else:
        _replace(handle, name, np.asarray(value.astype(str), dtype=object),
                 dtype=h5py.string_dtype())
    return f"dtype {name} ({choice})"


def change_shape(handle: h5py.File, rng: np.random.Generator) -> str:
    name = _pick(rng, _items(handle, h5py.Dataset))
    value = np.asarray(handle[name][()])
    choice = int(rng.integers(0, 4))
    shaped = [value.reshape(1, *value.shape), value.reshape(-1)[:-1] if value.size else value,
              np.repeat(value.reshape(-1), 2), value.reshape(-1)[:0]][choice]
    kw = {"dtype": h5py.string_dtype()} if value.dtype.kind in "OS" else {}
    _replace(handle, name, shaped, **kw)
    return f"shape {name} ({choice})"


def invalid_utf8(handle: h5py.File, rng: np.random.Generator) -> str:
    strings = [n for n in _items(handle, h5py.Dataset) if handle[n].dtype.kind in "OS"]
    name = _pick(rng, strings)
    value = np.asarray(handle[name][()])
    bad = np.full(value.shape, b"L\xffF\xfe", dtype=object) if value.shape else b"\xc3\x28"
    _replace(handle, name, bad, dtype=h5py.string_dtype())
    return f"invalid UTF-8 in {name}"


VERSIONS = ("9.9.9", "1.0.9", "2.0", "latest", "", " 1.0.8 ", "1.0.8garbage", "1.0.8\u00e9")


def set_version(handle: h5py.File, rng: np.random.Generator) -> str:
    choice = int(rng.integers(0, len(VERSIONS) + 2))
    del handle["version"]
    if choice < len(VERSIONS):
        handle.create_dataset("version", data=VERSIONS[choice], dtype=h5py.string_dtype())
    elif choice == len(VERSIONS):
        handle.create_dataset("version", data=1.08)
    else:
        handle.create_dataset("version", data=np.array(["1.0.8", "1.0.5"], dtype=object),
                              dtype=h5py.string_dtype())
    return f"version {choice}"


def deep_nesting(handle: h5py.File, rng: np.random.Generator) -> str:
    """Wrap the root graph in NIRGraphs, deeper than any writer goes (or just below)."""
    depth = int(rng.choice([3, 30, 100]))
    handle.move("node", "inner")
    for level in range(depth):
        path = "node" + "/nodes/g" * level
        group = handle.require_group(path)
        group.create_dataset("type", data="NIRGraph", dtype=h5py.string_dtype())
        group.create_dataset("edges", data=np.zeros((0, 2), dtype=object),
                             dtype=h5py.string_dtype())
    handle.move("inner", "node" + "/nodes/g" * depth)
    return f"nest {depth} deep"


def links(handle: h5py.File, rng: np.random.Generator) -> str:
    name = _pick(rng, _items(handle, h5py.Dataset))
    del handle[name]
    choice = int(rng.integers(0, 3))
    handle[name] = [h5py.SoftLink("/node"), h5py.ExternalLink(str(DIGITS), "/version"),
                    h5py.SoftLink("/nothing")][choice]
    return f"link {name} ({choice})"


def huge_declared(handle: h5py.File, rng: np.random.Generator) -> str:
    """A dataset whose header declares 10^12 values that were never written."""
    name = _pick(rng, _items(handle, h5py.Dataset))
    del handle[name]
    handle.create_dataset(name, shape=(10**6, 10**6), dtype=np.float64, chunks=(1, 16))
    return f"huge {name}"


def group_swap(handle: h5py.File, rng: np.random.Generator) -> str:
    name = _pick(rng, [*_items(handle, h5py.Group), "node"])
    del handle[name]
    handle.create_dataset(name, data=np.arange(3))
    return f"group {name} -> dataset"


StructuralEdit = Callable[[h5py.File, np.random.Generator], str]
STRUCTURAL_EDITS: tuple[StructuralEdit, ...] = (
    delete_object, change_dtype, change_shape, invalid_utf8, set_version, deep_nesting, links,
    huge_declared, group_swap)
STRUCTURAL_SHARE = 0.25  # of all cases


# -- one case --------------------------------------------------------------------------
def case_file(corpus: list[Path], case: int, folder: Path) -> tuple[Path, str]:
    """The mutated file of case ``case`` (deterministic), and what was done to it."""
    rng = np.random.default_rng([SEED, case])
    source = corpus[int(rng.integers(0, len(corpus)))]
    path = folder / f"case{case}.nir"
    if rng.random() < STRUCTURAL_SHARE:
        shutil.copyfile(source, path)
        edit = STRUCTURAL_EDITS[int(rng.integers(0, len(STRUCTURAL_EDITS)))]
        with h5py.File(path, "r+") as handle:
            done = edit(handle, rng)
    else:
        data = bytearray(source.read_bytes())
        mutations, weights = zip(*BYTE_MUTATIONS.items(), strict=True)
        chosen = mutations[int(rng.choice(len(mutations), p=np.array(weights) / sum(weights)))]
        done = chosen(data, rng, metadata_positions(source))
        path.write_bytes(bytes(data))
    return path, f"{source.name}: {done}"


def outcome(path: Path, timeout_s: float = FUZZ_TIMEOUT_S) -> str:
    """'graph', 'error' or 'timeout'; any other exception propagates (the case fails)."""
    try:
        graph = neurocc.load(path, read_timeout_s=timeout_s)
        artifact = neurocc.compile(graph, "reference")
        spikes = np.ones((1, SIM_STEPS, graph.n_inputs), dtype=np.uint8)
        neurocc.simulate(artifact, spikes, engine="reference")
    except NeuroccError as exc:
        return "timeout" if TIMED_OUT in str(exc) else "error"
    return "graph"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def test_every_corpus_file_reads_and_runs(corpus):
    assert [outcome(path) for path in corpus] == ["graph"] * len(corpus)


@pytest.mark.parametrize("case", range(DEFAULT_CASES))
def test_mutated_file_gives_a_graph_or_an_error(corpus, tmp_path, case):
    path, done = case_file(corpus, case, tmp_path)
    try:
        outcome(path)
    except Exception as exc:  # the report names the case, so it can be re-created
        raise AssertionError(f"case {case} ({done}): {type(exc).__name__}: {exc}") from exc


@pytest.mark.parametrize("name", sorted(p.name for p in FUZZ_CASES.glob("*.nir.gz")))
def test_files_found_by_fuzzing(tmp_path, name):
    """hang-*: plain h5py and nir.read never return on these; the reader stops at its deadline."""
    path = tmp_path / name.removesuffix(".gz")
    path.write_bytes(gzip.decompress((FUZZ_CASES / name).read_bytes()))
    expected = "timeout" if name.startswith("hang-") else "error"
    assert outcome(path, timeout_s=REGRESSION_TIMEOUT_S) == expected


@pytest.mark.slow
def test_many_mutated_files(corpus, tmp_path):
    failures = []
    for case in range(DEFAULT_CASES, DEFAULT_CASES + SLOW_CASES):
        path, done = case_file(corpus, case, tmp_path)
        try:
            outcome(path)
        except Exception as exc:
            failures.append(f"case {case} ({done}): {type(exc).__name__}: {exc}")
        path.unlink()
    assert not failures, "\n".join(failures)


def campaign(cases: int, start: int, folder: Path) -> Counter[str]:
    """By hand: run ``cases`` cases, keep the files that time out, print each outcome."""
    corpus, counts = write_corpus(folder / "corpus"), Counter[str]()
    for case in range(start, start + cases):
        path, done = case_file(corpus, case, folder)
        try:
            result = outcome(path)
        except Exception as exc:  # a campaign records what the tests would fail on
            result = f"CRASH {type(exc).__name__}: {str(exc)[:200]}"
        counts[result.split(":")[0]] += 1
        print(f"{case}\t{result}\t{done}", flush=True)
        if result == "graph" or result == "error":
            path.unlink()
    return counts


if __name__ == "__main__":
    print(campaign(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0,
                   Path(sys.argv[3]) if len(sys.argv) > 3 else Path("fuzz_campaign")))
