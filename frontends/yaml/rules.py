"""Connection rules: their sizes (checked before building) and their weight matrices.

``all_to_all`` is a dense matrix (refused above :data:`MAX_DENSE_ENTRIES`);
``one_to_one``, ``fixed_probability`` and ``distance_dependent`` are CSR from the
shared samplers (``neurocc.frontends.lsm.sampling``: no dense matrix at any
size); ``from_npz`` is the file's array, dense or CSR as stored. The shape of a
``.npz`` array is read from its header before the array is loaded.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.lsm.sampling import (
    MAX_OFFSETS,
    MAX_SYNAPSES,
    Pairs,
    draw_magnitudes,
    grid_expected,
    grid_pairs,
    offset_count,
    to_csr,
    uniform_expected,
    uniform_pairs,
)
from neurocc.frontends.yaml.source import located

if TYPE_CHECKING:  # schema imports this module; the records are only annotations here
    from neurocc.frontends.yaml.schema import Distribution, PopulationSpec, ProjectionSpec

MAX_DENSE_ENTRIES = 50_000_000  # 400 MB of float64: all_to_all and dense .npz arrays
SPARSE_NPZ_KEYS = ("format", "shape", "data")  # what scipy.sparse.save_npz always writes


@dataclass(frozen=True)
class NpzArray:
    """What an ``.npz`` file holds, from headers only."""

    shape: tuple[int, ...]
    sparse: bool
    entries: int  # stored values: nnz for sparse, every entry for dense
    key: str


# -- sizes ------------------------------------------------------------------------------------
def _error(label: str, proj: ProjectionSpec, what: str, hint: str) -> FrontendError:
    return FrontendError(located(label, proj.connect.line, "connect"),
                         f"projection '{proj.name}' ({proj.source} -> {proj.target}): {what}",
                         hint)


def expected_synapses(label: str, proj: ProjectionSpec, pre: PopulationSpec,
                      post: PopulationSpec) -> float:
    """Synapses the rule makes (on average for random rules), after checking its shapes."""
    rule, connect = proj.connect.rule, proj.connect
    own = proj.source == proj.target and not connect.self_connections
    if rule == "all_to_all":
        _check_dense(label, proj, post.size * pre.size)
        return float(post.size * pre.size)
    if rule == "one_to_one":
        if pre.size != post.size:
            raise _error(label, proj, f"one_to_one needs equal sizes, got {pre.size} -> "
                         f"{post.size}.", "Use populations of one size, or another rule.")
        return float(pre.size)
    if rule == "fixed_probability":
        return uniform_expected(post.size, pre.size, connect.probability, not own)
    if rule == "distance_dependent":
        return _distance_expected(label, proj, pre, post)
    return float(npz_info(label, proj, pre, post).entries)


def _check_dense(label: str, proj: ProjectionSpec, entries: int) -> None:
    if entries > MAX_DENSE_ENTRIES:
        raise _error(label, proj, f"a dense matrix of {entries:,} entries is more than the "
                     f"limit of {MAX_DENSE_ENTRIES:,}.", "Use fixed_probability, or store "
                     "the weights as a sparse .npz (scipy.sparse.save_npz) for from_npz.")


def _distance_expected(label: str, proj: ProjectionSpec, pre: PopulationSpec,
                       post: PopulationSpec) -> float:
    connect = proj.connect
    if len(pre.shape) != len(post.shape):
        raise _error(label, proj, f"distance_dependent needs grids of one dimension, got "
                     f"shapes {list(pre.shape)} and {list(post.shape)}.",
                     "Give both populations shapes with as many numbers.")
    if offset_count(pre.shape, post.shape, connect.probability, connect.length) > MAX_OFFSETS:
        raise _error(label, proj, f"lambda {connect.length:g} spans more than "
                     f"{MAX_OFFSETS:,} grid offsets.", "Use a shorter lambda.")
    own = proj.source == proj.target and not connect.self_connections
    return grid_expected(pre.shape, post.shape, connect.probability, connect.length, not own)


def check_sizes(label: str, projections: tuple[ProjectionSpec, ...],
                by_name: Mapping[str, PopulationSpec]) -> None:
    """Every rule fits its populations, and the synapses together fit the limit."""
    total = sum(expected_synapses(label, p, by_name[p.source], by_name[p.target])
                for p in projections)
    if total > MAX_SYNAPSES:
        raise FrontendError(label, f"describes about {total:,.0f} synapses, more than the "
                            f"limit of {MAX_SYNAPSES:,}.", "Lower the connection "
                            "probabilities or the population sizes.")


# -- .npz files -------------------------------------------------------------------------------
def _header(archive: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], np.dtype]:
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(handle)
    return tuple(shape), dtype


def _members(label: str, proj: ProjectionSpec) -> dict[str, str]:
    path = proj.connect.file
    if path is None or not path.is_file():
        raise _error(label, proj, f"the file {path} does not exist.",
                     "Paths are relative to the spec's folder.")
    with zipfile.ZipFile(path) as archive:
        return {name[:-4]: name for name in archive.namelist() if name.endswith(".npy")}


def npz_info(label: str, proj: ProjectionSpec, pre: PopulationSpec,
             post: PopulationSpec) -> NpzArray:
    """The array's shape and size from its headers; its shape must be (target, source)."""
    try:
        info = _npz_info(label, proj)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise _error(label, proj, f"{proj.connect.file} cannot be read as .npz ({exc}).",
                     "Write it with numpy.savez or scipy.sparse.save_npz.") from exc
    expected = (post.size, pre.size)
    if info.shape != expected:
        hint = " (it is transposed)" if info.shape == expected[::-1] else ""
        raise _error(label, proj, f"the array '{info.key}' has shape {list(info.shape)}, "
                     f"expected (target size, source size) = {list(expected)}{hint}.",
                     "Store weights as weight[post, pre].")
    if not info.sparse:
        _check_dense(label, proj, info.entries)
    return info


def _npz_info(label: str, proj: ProjectionSpec) -> NpzArray:
    members = _members(label, proj)
    path = proj.connect.file
    with zipfile.ZipFile(path) as archive:  # type: ignore[arg-type]  # _members checked it
        if all(key in members for key in SPARSE_NPZ_KEYS):
            shape = tuple(int(n) for n in np.load(io.BytesIO(archive.read(members["shape"]))))
            return NpzArray(shape, True, math.prod(_header(archive, members["data"])[0]),
                            "sparse matrix")
        key = _dense_key(label, proj, members)
        shape, dtype = _header(archive, members[key])
    if dtype.kind not in "biuf":
        raise _error(label, proj, f"the array '{key}' has dtype {dtype}, not numbers.",
                     "Store float weights.")
    return NpzArray(shape, False, math.prod(shape), key)


def _dense_key(label: str, proj: ProjectionSpec, members: dict[str, str]) -> str:
    key = proj.connect.key
    if key is None and len(members) == 1:
        return next(iter(members))
    if key is None or key not in members:
        raise _error(label, proj, f"the file holds the arrays {sorted(members)}; "
                     f"{'key ' + repr(key) + ' is not one of them' if key else 'which one?'}.",
                     "Name it with 'key:' under connect.")
    return key


def load_npz(label: str, proj: ProjectionSpec) -> np.ndarray | sp.csr_array:
    """The weights of a from_npz rule (shape and size were checked by :func:`npz_info`)."""
    path = proj.connect.file
    if path is None:
        raise _error(label, proj, "names no file.", "Add 'file:'.")
    members = _members(label, proj)
    if all(key in members for key in SPARSE_NPZ_KEYS):
        weight: Any = sp.csr_array(sp.load_npz(path), dtype=np.float64)
        values = weight.data
    else:
        with np.load(path, allow_pickle=False) as data:
            weight = np.asarray(data[_dense_key(label, proj, members)], dtype=np.float64)
        values = weight
    if not np.all(np.isfinite(values)):
        raise _error(label, proj, f"{path.name} holds NaN or infinite weights.",
                     "Store finite weights.")
    return weight


# -- drawing ------------------------------------------------------------------------------------
def draw(law: Distribution, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` values of a :class:`Distribution` (a constant needs no random numbers)."""
    args = law.args
    if law.kind == "constant":
        return np.full(size, args["value"])
    if law.kind == "normal":
        return rng.normal(args["mean"], args["std"], size)
    if law.kind == "uniform":
        return rng.uniform(args["low"], args["high"], size)
    mean = args["mean"]  # gamma, lognormal: the magnitude's law, the sign of mean
    return math.copysign(1.0, mean) * draw_magnitudes(rng, law.kind, abs(mean),
                                                      args["std"] / abs(mean), size)


Builder = Callable[["ProjectionSpec", "PopulationSpec", "PopulationSpec",
                    np.random.Generator], Any]


def _law(proj: ProjectionSpec) -> Distribution:
    if proj.weight is None:  # the schema gives every rule but from_npz a weight
        raise FrontendError(proj.name, "has no weight.", "Add 'weight:'.")
    return proj.weight


def _all_to_all(proj: ProjectionSpec, pre: PopulationSpec, post: PopulationSpec,
                rng: np.random.Generator) -> np.ndarray:
    weight = draw(_law(proj), rng, post.size * pre.size).reshape(post.size, pre.size)
    if proj.source == proj.target and not proj.connect.self_connections:
        np.fill_diagonal(weight, 0.0)
    return weight


def _sparse(pairs: Pairs, proj: ProjectionSpec, pre: PopulationSpec, post: PopulationSpec,
            rng: np.random.Generator) -> sp.csr_array:
    return to_csr(pairs, draw(_law(proj), rng, len(pairs)), (post.size, pre.size))


def _one_to_one(proj: ProjectionSpec, pre: PopulationSpec, post: PopulationSpec,
                rng: np.random.Generator) -> sp.csr_array:
    index = np.arange(pre.size)
    return _sparse(Pairs(index, index), proj, pre, post, rng)


def _fixed_probability(proj: ProjectionSpec, pre: PopulationSpec, post: PopulationSpec,
                       rng: np.random.Generator) -> sp.csr_array:
    own = proj.source == proj.target and not proj.connect.self_connections
    pairs = uniform_pairs(rng, post.size, pre.size, proj.connect.probability, not own)
    return _sparse(pairs, proj, pre, post, rng)


def _distance_dependent(proj: ProjectionSpec, pre: PopulationSpec, post: PopulationSpec,
                        rng: np.random.Generator) -> sp.csr_array:
    own = proj.source == proj.target and not proj.connect.self_connections
    pairs = grid_pairs(rng, pre.shape, post.shape, proj.connect.probability,
                       proj.connect.length, not own)
    return _sparse(pairs, proj, pre, post, rng)


BUILDERS: dict[str, Builder] = {
    "all_to_all": _all_to_all,
    "one_to_one": _one_to_one,
    "fixed_probability": _fixed_probability,
    "distance_dependent": _distance_dependent,
}
