"""The intermediate graph: populations (nodes) and projections (edges).

A :class:`Graph` is hardware-neutral and float. It is immutable: passes build
a new graph with :meth:`Graph.replace` and append a :class:`PassRecord` to the
history. Construction verifies everything (shapes, finite values, known
neuron models, reset modes, ``dt_s > 0``, no zero-delay cycle) and raises a
:class:`~neurocc.compiler.errors.GraphError` naming the offending node.

Receptors: a projection feeds one input port (receptor) of its target's
neuron model (``compiler.neurons``). ``Projection.receptor == ""`` means the
target model's single receptor; a model with several (``lif_cur_exp``) needs
it named. :meth:`Graph.receptor_of` gives the receptor a projection feeds.

Time: one global step ``dt_s`` (seconds). A projection delivers the spikes
its source emitted ``delay_steps`` steps earlier; ``delay_steps == 0`` acts
within the step. An edge that closes a cycle must carry ``delay_steps >= 1``
(frontends set 1 where the source format leaves the feedback delay implicit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import GraphError
from neurocc.compiler.neurons import NEURON_MODELS, NeuronModel

# np.ndarray | scipy.sparse.csr_array; Any to the type checker, as scipy 1.17 ships no types
# (scipy-stubs needs numpy 2, which Lava cannot use)
Weight: TypeAlias = Any


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class PassRecord:
    """What one pass did: its name and a JSON-able summary (counts, errors, parameters)."""

    name: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Population:
    """A group of neurons of one model with per-neuron parameter arrays.

    ``shape`` is the neuron shape of the source node (for example
    ``(16, 8, 8)`` after a convolution); ``size == prod(shape)`` and arrays
    are flat in C order. ``reset`` is one of ``compiler.neurons.RESET_MODES``.
    """

    name: str
    model: str
    shape: tuple[int, ...]
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    reset: str = "none"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        model = self.neuron_model  # raises on an unknown model
        params = {k: np.asarray(v, dtype=np.float64) for k, v in self.params.items()}
        for key, default in model.defaults.items():
            params.setdefault(key, np.full(self.size, default))
        params = {k: _frozen(np.broadcast_to(v, (self.size,))) if v.ndim == 0 else _frozen(v)
                  for k, v in params.items()}
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def neuron_model(self) -> NeuronModel:
        if self.model not in NEURON_MODELS:
            raise GraphError(
                f"population '{self.name}'",
                f"unknown neuron model '{self.model}'.",
                f"Known models: {', '.join(sorted(NEURON_MODELS))}.",
            )
        return NEURON_MODELS[self.model]

    def verify(self) -> None:
        where = f"population '{self.name}' ({self.model})"
        model = self.neuron_model
        if self.size <= 0 or any(s <= 0 for s in self.shape):
            raise GraphError(where, f"shape {self.shape} has no neurons.", "Give a positive size.")
        missing = [p for p in model.params if p not in self.params]
        extra = [p for p in self.params if p not in model.params]
        if missing or extra:
            raise GraphError(where, f"parameters missing {missing}, unexpected {extra}.",
                             f"Model '{model.name}' takes {list(model.params)}.")
        for key, value in self.params.items():
            if value.shape != (self.size,):
                raise GraphError(where, f"parameter '{key}' has shape {value.shape},"
                                 f" expected ({self.size},).", "Give one value per neuron.")
            if not np.all(np.isfinite(value)):
                raise GraphError(where, f"parameter '{key}' holds NaN or infinite values.",
                                 "Check the trained model's parameters.")
        for key in model.positive:
            if np.any(self.params[key] <= 0):
                raise GraphError(where, f"parameter '{key}' must be > 0 (min "
                                 f"{self.params[key].min():g}).", "Time constants are positive.")
        for key in model.nonnegative:
            if np.any(self.params[key] < 0):
                raise GraphError(where, f"parameter '{key}' must be >= 0 (min "
                                 f"{self.params[key].min():g}).", "Use 0 for none.")
        if self.reset not in model.resets:
            raise GraphError(where, f"reset mode '{self.reset}' is not valid for this model.",
                             f"Use one of {list(model.resets)}.")


@dataclass(frozen=True, eq=False)
class Projection:
    """Weighted, delayed synapses from ``source`` to ``target``.

    ``weight`` has shape ``(target.size, source.size)``: a dense float array
    or a ``scipy.sparse.csr_array`` (convolutions, pooling). ``delay_steps``
    is an integer array: shape ``()`` for one delay for all synapses, the
    dense weight's shape, or ``(nnz,)`` aligned with the CSR data.
    ``receptor`` names the target model's input port the synapses feed; ``""``
    (or ``None``) means the model's single receptor (see :meth:`Graph.receptor_of`).
    """

    name: str
    source: str
    target: str
    weight: Weight
    delay_steps: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.int64))
    metadata: Mapping[str, Any] = field(default_factory=dict)
    receptor: str = ""

    def __post_init__(self) -> None:
        if self.receptor is None:  # JSON null and "not given" mean the same default
            object.__setattr__(self, "receptor", "")
        weight = self.weight
        if sp.issparse(weight):
            weight = sp.csr_array(weight, dtype=np.float64)
            weight.sort_indices()
        else:
            weight = _frozen(np.asarray(weight, dtype=np.float64))
        object.__setattr__(self, "weight", weight)
        delays = np.asarray(self.delay_steps)
        whole = delays.dtype.kind == "f" and np.all(np.isfinite(delays))
        if whole and np.all(delays == np.round(delays)):
            delays = delays.astype(np.int64)
        object.__setattr__(self, "delay_steps", _frozen(delays))

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.weight)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.weight.shape)  # type: ignore[return-value]

    @property
    def max_delay(self) -> int:
        return int(self.delay_steps.max()) if self.delay_steps.size else 0

    def dense_weight(self) -> np.ndarray:
        """The weight matrix as a dense (target, source) array."""
        return self.weight.toarray() if self.is_sparse else np.asarray(self.weight)

    def synapse_count(self) -> int:
        """Stored synapses with a nonzero weight (zeros are no synapses, on any family)."""
        return int(np.count_nonzero(self.weight.data if self.is_sparse else self.weight))

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every stored synapse as (post index, pre index, weight, delay_steps) arrays.

        Dense weights list every entry, zeros included, in C order; sparse
        weights list their stored entries in CSR order.
        """
        if self.is_sparse:
            coo = self.weight.tocoo()
            post, pre, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
            delays = np.broadcast_to(self.delay_steps, w.shape).astype(np.int64)
            return post, pre, w, delays
        n_post, n_pre = self.shape
        post, pre = np.divmod(np.arange(n_post * n_pre, dtype=np.int64), n_pre)
        delays = np.broadcast_to(self.delay_steps, self.shape).reshape(-1).astype(np.int64)
        return post, pre, np.asarray(self.weight).reshape(-1), delays

    def verify(self, populations: Mapping[str, Population]) -> None:
        where = f"projection '{self.name}' ({self.source} -> {self.target})"
        for end in (self.source, self.target):
            if end not in populations:
                raise GraphError(where, f"refers to unknown population '{end}'.",
                                 "Add the population or fix the edge.")
        expected = (populations[self.target].size, populations[self.source].size)
        if self.shape != expected:
            raise GraphError(where, f"weight shape {self.shape}, expected (target, source) = "
                             f"{expected}.", "Transpose or reshape the weight matrix.")
        values = self.weight.data if self.is_sparse else self.weight
        if not np.all(np.isfinite(values)):
            raise GraphError(where, "weights hold NaN or infinite values.",
                             "Check the trained model's weights.")
        self._verify_delays(where)

    def _verify_delays(self, where: str) -> None:
        delays = self.delay_steps
        nnz = self.weight.nnz if self.is_sparse else None
        allowed = [()] + ([(nnz,)] if self.is_sparse else [self.shape])
        if delays.shape not in allowed:
            raise GraphError(where, f"delay_steps has shape {delays.shape}, expected one of "
                             f"{allowed}.", "Give one delay, or one per synapse.")
        if delays.dtype.kind not in "iu":
            raise GraphError(where, f"delay_steps must be integers, got {delays.dtype}.",
                             "Round delays to steps of dt first (the delays pass does).")
        if delays.size and delays.min() < 0:
            raise GraphError(where, f"negative delay {int(delays.min())} steps.",
                             "Delays are >= 0 steps.")


@dataclass(frozen=True, eq=False)
class Graph:
    """A spiking network: populations, projections, one time step, and history.

    ``inputs`` name the spike-source populations in the order their neurons
    appear in the input array; ``outputs`` name the populations whose spikes
    (or, for non-spiking models, ``v``) are the network's output.
    """

    dt_s: float
    populations: Mapping[str, Population]
    projections: Mapping[str, Projection]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[PassRecord, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "populations", dict(self.populations))
        object.__setattr__(self, "projections", dict(self.projections))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        self.verify()

    # -- construction helpers -------------------------------------------------
    def replace(self, **changes: Any) -> Graph:
        """A verified copy with some fields replaced (the way passes build graphs)."""
        return dataclasses.replace(self, **changes)

    def with_record(self, name: str, **details: Any) -> Graph:
        """A copy with one more :class:`PassRecord` in the history."""
        return self.replace(history=(*self.history, PassRecord(name, details)))

    # -- queries ----------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return sum(self.populations[name].size for name in self.inputs)

    def incoming(self, name: str) -> list[Projection]:
        return [p for p in self.projections.values() if p.target == name]

    def outgoing(self, name: str) -> list[Projection]:
        return [p for p in self.projections.values() if p.source == name]

    def receptor_of(self, proj: Projection) -> str:
        """The receptor ``proj`` feeds: its own, else its target model's single receptor."""
        if proj.receptor:
            return proj.receptor
        return self.populations[proj.target].neuron_model.receptors[0]

    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph as a networkx MultiDiGraph (edge key = projection name)."""
        g = nx.MultiDiGraph()
        for name, pop in self.populations.items():
            g.add_node(name, population=pop)
        for name, proj in self.projections.items():
            g.add_edge(proj.source, proj.target, key=name, projection=proj)
        return g

    def synapse_count(self) -> int:
        """Stored synapses with a nonzero weight, over every projection."""
        return sum(p.synapse_count() for p in self.projections.values())

    def step_order(self) -> list[str]:
        """Populations in the order they update within a step.

        Only projections whose minimum delay is 0 constrain the order; they
        form a DAG (``verify`` checks it). Ties break by insertion order, so
        the order is deterministic.
        """
        g = nx.DiGraph()
        g.add_nodes_from(self.populations)
        for proj in self.projections.values():
            if proj.delay_steps.size and int(proj.delay_steps.min()) == 0:
                g.add_edge(proj.source, proj.target)
        index = {name: i for i, name in enumerate(self.populations)}
        return list(nx.lexicographical_topological_sort(g, key=index.__getitem__))

    # -- verification -------------------------------------------------------------
    def verify(self) -> None:
        if not (np.isfinite(self.dt_s) and self.dt_s > 0):
            raise GraphError("graph", f"dt_s = {self.dt_s!r} is not a positive time step.",
                             "Pass --dt SECONDS (for example 1e-3).")
        for key, pop in self.populations.items():
            if key != pop.name:
                raise GraphError(f"population '{pop.name}'", f"stored under key '{key}'.",
                                 "Keys must equal population names.")
            pop.verify()
        for key, proj in self.projections.items():
            if key != proj.name:
                raise GraphError(f"projection '{proj.name}'", f"stored under key '{key}'.",
                                 "Keys must equal projection names.")
            proj.verify(self.populations)
        self._verify_ports()
        self._verify_receptors()
        self._verify_no_instant_cycle()

    def _verify_ports(self) -> None:
        if not self.inputs:
            raise GraphError("graph", "has no input population.", "Add an 'input' population.")
        for name in self.inputs:
            pop = self.populations.get(name)
            if pop is None or pop.model != "input":
                raise GraphError(f"input '{name}'", "is not a population of model 'input'.",
                                 "List only spike-source populations as inputs.")
            if self.incoming(name):
                raise GraphError(f"input '{name}'", "receives projections.",
                                 "Inputs are spike sources only.")
        for name in self.outputs:
            if name not in self.populations:
                raise GraphError(f"output '{name}'", "is not a population of the graph.",
                                 "Name an existing population as output.")
        stray = [p.name for p in self.populations.values() if p.model == "input"
                 and p.name not in self.inputs]
        if stray:
            raise GraphError(f"population '{stray[0]}'", "has model 'input' but is not listed "
                             "in the graph's inputs.", "Add it to inputs.")

    def _verify_receptors(self) -> None:
        # Runs after the port checks, which already refuse projections into inputs (the one
        # model without receptors).
        for proj in self.projections.values():
            _verify_receptor(proj, self.populations[proj.target].neuron_model)

    def _verify_no_instant_cycle(self) -> None:
        g = nx.DiGraph()
        for proj in self.projections.values():
            if proj.delay_steps.size and int(proj.delay_steps.min()) == 0:
                g.add_edge(proj.source, proj.target)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return
        names = " -> ".join(edge[0] for edge in cycle) + f" -> {cycle[-1][1]}"
        raise GraphError(f"cycle {names}", "has a synapse with 0 delay on every edge, so no "
                         "population can update first.",
                         "Give the feedback projection delay_steps >= 1.")


def _verify_receptor(proj: Projection, model: NeuronModel) -> None:
    """``proj`` feeds a receptor its target's model has, named where the model has several."""
    where = f"projection '{proj.name}' ({proj.source} -> {proj.target})"
    known = f"model '{model.name}' of '{proj.target}' has the receptors {list(model.receptors)}"
    if not isinstance(proj.receptor, str):
        raise GraphError(where, f"has receptor {proj.receptor!r}, not a name.",
                         f"Give a string; {known}.")
    if proj.receptor and proj.receptor not in model.receptors:
        raise GraphError(where, f"feeds receptor '{proj.receptor}', but {known}.",
                         "Name one of those, or leave the receptor empty for a model with a "
                         "single receptor.")
    if not proj.receptor and len(model.receptors) != 1:
        raise GraphError(where, f"names no receptor, but {known}.",
                         "Set receptor= to one of them (weights stay signed: inhibitory "
                         "weights are normally negative).")
