"""The state of one lowering: the signal between layers and the graph built so far.

A torch model is walked layer by layer. Between two neuron layers the signal
is a chain of linear maps (:class:`~neurocc.frontends.nir.maps.Step`, the NIR
frontend's records) starting at the last population; a neuron layer closes
the chain into one projection. ``leading`` is the tensor layout in front of
the per-step shape: 2 for ``(batch, time, ...)``, 1 for ``(batch*time, ...)``
(sinabs' squeezed layout, which convolutions and pooling need).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Population, Projection
from neurocc.frontends.nir.maps import Context, Matrix, Shape, Step, identity
from neurocc.frontends.sinabs.torchlib import class_name

BATCH_TIME = 2  # (batch, time, ...): sinabs' stateful layers, snnTorch's time loop
SQUEEZED = 1  # (batch*time, ...): Conv2d, pooling, sinabs' *Squeeze layers
LAYOUT_NAMES = {BATCH_TIME: "(batch, time, ...)", SQUEEZED: "(batch*time, ...)"}
WEIGHTED_LAYERS = ("Linear", "Conv1d", "Conv2d")  # a projection is named after its first one
RESHAPES = ("Flatten",)  # maps that only move values: a chain of these is no projection


@dataclass(frozen=True)
class Link:
    """One layer's map in the pending chain."""

    path: str
    layer: str  # class name
    step: Step


@dataclass
class Walk:
    """Mutable state of one lowering (local to ``read_module``)."""

    label: str
    dt_s: float
    leading: int
    shape: Shape
    source: str = "input"
    chain: list[Link] = field(default_factory=list)
    populations: dict[str, Population] = field(default_factory=dict)
    projections: dict[str, Projection] = field(default_factory=dict)

    def where(self, path: str, layer: Any) -> str:
        return f"{self.label}, layer '{path}' ({class_name(layer)})"

    def ctx(self, path: str, layer: Any) -> Context:
        return Context(self.where(path, layer), self.dt_s)

    def push(self, path: str, layer: Any, step: Step) -> None:
        self.chain.append(Link(path, class_name(layer), step))
        self.shape = step.out_shape

    def expect_layout(self, need: int, path: str, layer: Any, hint: str) -> None:
        if self.leading != need:
            raise FrontendError(self.where(path, layer), f"takes {LAYOUT_NAMES[need]} input "
                                f"but receives {LAYOUT_NAMES[self.leading]} here.", hint)

    def chain_is_reshape(self) -> bool:
        return all(link.layer in RESHAPES for link in self.chain)


def compose(chain: list[Link], n_source: int) -> tuple[Matrix, np.ndarray]:
    """The chain's weight (target, source) and the bias it adds at the target."""
    weight: Matrix = identity(n_source)
    bias = np.zeros(n_source)
    for link in chain:
        weight = link.step.matrix @ weight
        bias = link.step.matrix @ bias
        if link.step.bias is not None:
            bias = bias + link.step.bias
    if sp.issparse(weight):
        weight = sp.csr_array(weight)
        weight.sum_duplicates()
        weight.sort_indices()
    return weight, np.asarray(bias, dtype=np.float64).reshape(-1)


def projection_name(walk: Walk, target: str) -> str:
    weighted = [link.path for link in walk.chain if link.layer in WEIGHTED_LAYERS]
    base = weighted[0] if weighted else f"{walk.source}->{target}"
    name, counter = base, 0
    while name in walk.projections:
        counter += 1
        name = f"{base}#{counter}"
    return name


def chain_metadata(chain: list[Link]) -> dict[str, Any]:
    return {"torch": {"chain": [{"name": link.path, "layer": link.layer, **link.step.record}
                                for link in chain]}}
