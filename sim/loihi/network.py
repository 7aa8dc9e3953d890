"""Read a Loihi-family artifact into checked integer specs (docs/loihi-artifact.md).

Both the exact engine and the Lava export start from :func:`read_network`,
so they see the same populations, projections and parameters. Every value is
checked against the range Lava's fixed-point process models accept; a value
out of range is a :class:`SimulationError` naming the key, the value and the
range. Weight mantissas are not range-checked: Lava clips and truncates them
itself, and the engine mirrors that (see ``fixed_point.effective_weights``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurocc.backends.artifact import Artifact
from neurocc.compiler.errors import SimulationError
from neurocc.sim.loihi import fixed_point as fx

SECTION = "loihi"
LIF_PROCESS = "LIF"
SOURCE_PROCESS = "RingBuffer"
DENSE, DELAY_DENSE, SPARSE = "Dense", "DelayDense", "Sparse"
PROJECTION_PROCESSES = (DENSE, DELAY_DENSE, SPARSE)
MIN_NUM_WEIGHT_BITS = 1  # truncate_weights keeps at least one bit


@dataclass(frozen=True, eq=False)
class PopulationSpec:
    """One population: its size, whether it is an input, and its per-spike event costs."""

    name: str
    size: int
    is_input: bool
    msg_per_spike: np.ndarray
    hops_ew_per_spike: np.ndarray
    hops_ns_per_spike: np.ndarray


@dataclass(frozen=True, eq=False)
class LifSpec:
    """The parameters of one Lava ``LIF`` (integers as the process takes them)."""

    name: str
    size: int
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray


@dataclass(frozen=True, eq=False)
class ProjectionSpec:
    """One Lava ``Dense``/``DelayDense``/``Sparse``: stored mantissas, exponent, delays.

    ``weight`` is the (post, pre) matrix: a dense int64 array or a
    ``scipy.sparse.csr_array`` for ``Sparse``. ``delay`` is ``()`` or
    (post, pre), in steps on top of the one-step Dense latency.
    """

    name: str
    process: str
    source: str
    target: str
    weight: np.ndarray | sp.csr_array
    weight_exp: int
    num_weight_bits: int
    delay: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """The whole chip network of an artifact, in the artifact's population order."""

    populations: Mapping[str, PopulationSpec]
    lifs: Mapping[str, LifSpec]
    projections: Mapping[str, ProjectionSpec]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    latency_steps: int

    @property
    def n_inputs(self) -> int:
        return sum(self.populations[name].size for name in self.inputs)


def _fetch(arrays: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in arrays:
        raise SimulationError(f"artifact array '{key}'", "is missing from loihi.npz.",
                              "Compile the model again for a Loihi target.")
    value = np.asarray(arrays[key])
    if value.shape != shape or value.dtype.kind not in "iu":
        raise SimulationError(f"artifact array '{key}'", f"has shape {value.shape} and dtype "
                              f"{value.dtype}; expected integers of shape {shape}.",
                              "Compile the model again for a Loihi target.")
    return value.astype(np.int64, copy=False)


def _check_range(key: str, value: np.ndarray, low: int, high: int) -> None:
    if value.size and (int(value.min()) < low or int(value.max()) > high):
        bad = int(value.min()) if int(value.min()) < low else int(value.max())
        raise SimulationError(f"artifact array '{key}'", f"holds {bad}, outside Lava's range "
                              f"[{low}, {high}].", "Compile the model again; the quantize pass "
                              "must keep Loihi parameters in range.")


def _population(arrays: Mapping[str, np.ndarray], name: str, entry: Mapping) -> PopulationSpec:
    size = int(entry["size"])
    fetch = {field: _fetch(arrays, f"pop/{name}/{field}", (size,))
             for field in ("msg_per_spike", "hops_ew_per_spike", "hops_ns_per_spike")}
    return PopulationSpec(name, size, entry["process"] == SOURCE_PROCESS, fetch["msg_per_spike"],
                          fetch["hops_ew_per_spike"], fetch["hops_ns_per_spike"])


def _lif(arrays: Mapping[str, np.ndarray], name: str, size: int) -> LifSpec:
    values = {}
    for field, shape, low, high in (("du", (), 0, fx.DECAY_MAX), ("dv", (), 0, fx.DECAY_MAX),
                                    ("vth", (), 0, fx.VTH_MAX),
                                    ("bias_mant", (size,), fx.BIAS_MANT_MIN, fx.BIAS_MANT_MAX),
                                    ("bias_exp", (size,), -fx.BIAS_EXP_MAX, fx.BIAS_EXP_MAX)):
        key = f"pop/{name}/{field}"
        values[field] = _fetch(arrays, key, shape)
        _check_range(key, values[field], low, high)
    return LifSpec(name, size, int(values["du"]), int(values["dv"]), int(values["vth"]),
                   values["bias_mant"], values["bias_exp"])


def _weight(arrays: Mapping[str, np.ndarray], name: str, process: str,
            shape: tuple[int, int]) -> np.ndarray | sp.csr_array:
    key = f"proj/{name}/weight"
    if process != SPARSE:
        return _fetch(arrays, key, shape)
    parts = {}
    for part in ("data", "indices", "indptr"):
        if f"{key}/{part}" not in arrays:
            raise SimulationError(f"artifact array '{key}/{part}'", "is missing for a Sparse "
                                  "projection.", "Compile the model again for a Loihi target.")
        parts[part] = np.asarray(arrays[f"{key}/{part}"]).astype(np.int64)
    try:
        matrix = sp.csr_array((parts["data"], parts["indices"], parts["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
    except ValueError as exc:
        raise SimulationError(f"artifact array '{key}'", f"is not a valid CSR matrix of shape "
                              f"{shape} ({exc}).", "Compile the model again.") from exc
    return matrix


def _projection(arrays: Mapping[str, np.ndarray], name: str, entry: Mapping,
                sizes: Mapping[str, int]) -> ProjectionSpec:
    where = f"projection '{name}'"
    process, source, target = entry["process"], entry["source"], entry["target"]
    if process not in PROJECTION_PROCESSES:
        raise SimulationError(where, f"has process '{process}'.",
                              f"The Loihi engine runs {', '.join(PROJECTION_PROCESSES)}.")
    if source not in sizes or target not in sizes:
        raise SimulationError(where, f"connects unknown populations {source} -> {target}.",
                              "Compile the model again.")
    shape = (sizes[target], sizes[source])
    weight = _weight(arrays, name, process, shape)
    exp = _fetch(arrays, f"proj/{name}/weight_exp", ())
    _check_range(f"proj/{name}/weight_exp", exp, -fx.MAX_WEIGHT_EXP, fx.MAX_WEIGHT_EXP)
    bits = _fetch(arrays, f"proj/{name}/num_weight_bits", ())
    _check_range(f"proj/{name}/num_weight_bits", bits, MIN_NUM_WEIGHT_BITS,
                 fx.MAX_NUM_WEIGHT_BITS)
    delay = _delay(arrays, name, shape)
    if process != DELAY_DENSE and delay.size and int(delay.max()) > 0:
        raise SimulationError(where, f"is a {process} with synaptic delays up to "
                              f"{int(delay.max())} steps; only DelayDense carries delays.",
                              "Compile the model again (delayed projections become DelayDense).")
    return ProjectionSpec(name, process, source, target, weight, int(exp), int(bits), delay)


def _delay(arrays: Mapping[str, np.ndarray], name: str, shape: tuple[int, int]) -> np.ndarray:
    key = f"proj/{name}/delay"
    raw = np.asarray(arrays.get(key, np.zeros((), dtype=np.int64)))
    delay = _fetch({key: raw}, key, () if raw.ndim == 0 else shape)
    _check_range(key, delay, 0, fx.MAX_DELAY)
    return delay


def read_network(artifact: Artifact) -> NetworkSpec:
    """The checked integer network of ``artifact`` (a Loihi-family artifact)."""
    if SECTION not in artifact.sections or "populations" not in artifact.layout:
        raise SimulationError(f"artifact for target '{artifact.target}'",
                              f"has no '{SECTION}' section or layout (family "
                              f"'{artifact.family}').", "Compile for a Loihi target first.")
    arrays = artifact.sections[SECTION]
    layout = artifact.layout
    populations = {name: _population(arrays, name, entry)
                   for name, entry in layout["populations"].items()}
    for name in artifact.graph.inputs:
        if name not in populations or not populations[name].is_input:
            raise SimulationError(f"input '{name}'", "is not a RingBuffer population of the "
                                  "layout.", "Compile the model again.")
    lifs = {name: _lif(arrays, name, pop.size) for name, pop in populations.items()
            if not pop.is_input}
    sizes = {name: pop.size for name, pop in populations.items()}
    projections = {name: _projection(arrays, name, entry, sizes)
                   for name, entry in layout.get("projections", {}).items()}
    for proj in projections.values():
        if proj.target not in lifs:
            raise SimulationError(f"projection '{proj.name}'", f"targets '{proj.target}', "
                                  "which is not a LIF population.", "Compile the model again.")
    return NetworkSpec(populations, lifs, projections, tuple(artifact.graph.inputs),
                       tuple(artifact.graph.outputs), int(layout.get("latency_steps", 0)))
