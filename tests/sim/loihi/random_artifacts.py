"""Random Loihi-family artifacts built directly (no compiler), through the section writer.

A network is described by populations (name -> size), the input names, and
projection recipes; every integer parameter is drawn from a seeded generator
within the ranges a regime sets, and the records go through
``section.write_section`` like a compiled artifact's. ``REGIMES`` covers
ordinary spiking and pushing u past its 24-bit range and v into saturation.
The artifacts carry :data:`SWEEP_TARGET`: loihi2 with the exponent ranges the
regimes draw from (Lava takes both exponents as parameters, so Lava runs it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.section import (
    CSR_PROCESSES,
    DELAY_PROCESSES,
    SECTION,
    LifSpec,
    NetworkSpec,
    PopulationSpec,
    ProjectionSpec,
    write_section,
)
from neurocc.backends.loihi.spec import SECTION_OF, TARGETS_DIR, LoihiSpec, spec_from_mapping
from neurocc.compiler.graph import Graph, Population, Projection

DT_S = 1e-3
LATENCY_STEPS = 2
MIXED, EXCITATORY, INHIBITORY = "mixed", "excitatory", "inhibitory"
SIGN_MODES = (MIXED, EXCITATORY, INHIBITORY)
# Weight mantissas slightly beyond Lava's 8-bit clip range, so clipping is exercised
WEIGHT_DRAW_MAX = 300


def edited_target(base: str = "loihi2", name: str | None = None, **values: Any) -> LoihiSpec:
    """A packaged target with some keys set to other values (a user's edited copy)."""
    data = yaml.safe_load((TARGETS_DIR / f"{base}.yaml").read_text())
    data["name"] = name or f"{base}-edited"
    for key, value in values.items():
        data[SECTION_OF[key]][key] = {"value": value, "source": "edited copy (tests)"}
    return spec_from_mapping(data, f"edited copy of {base}")


# negative bias exponents and weight exponents up to 20 (the "extreme" regime)
SWEEP_TARGET = edited_target("loihi2", "loihi2-sweep", bias_exp_min=-7, weight_exp_max=20)


@dataclass(frozen=True)
class Regime:
    """Ranges (inclusive) the integer parameters are drawn from."""

    du: tuple[int, int] = (0, 4095)
    dv: tuple[int, int] = (0, 4095)
    vth: tuple[int, int] = (0, 1500)
    bias_mant: tuple[int, int] = (-100, 400)
    bias_exp: tuple[int, int] = (-2, 4)
    weight_exp: tuple[int, int] = (-3, 3)
    num_weight_bits: tuple[int, int] = (1, 8)


REGIMES = {
    "typical": Regime(),
    # huge shifted inputs: u wraps (and leaves 24 bits), v saturates
    "saturating": Regime(du=(0, 40), dv=(0, 40), vth=(100_000, 131_071),
                         bias_mant=(-4096, 4095), bias_exp=(5, 7), weight_exp=(3, 9),
                         num_weight_bits=(6, 8)),
    # strong positive bias that inhibitory input has to hold down
    "driven": Regime(vth=(0, 1500), bias_mant=(500, 4095), bias_exp=(2, 5)),
    # sums so large that the int32 ports and the a_in << 6 wrap too
    "extreme": Regime(vth=(0, 131_071), bias_mant=(-4096, 4095), bias_exp=(-7, 7),
                      weight_exp=(12, 20)),
}


@dataclass(frozen=True)
class Recipe:
    """One projection: endpoints, Lava process, sign mode, delays, density."""

    source: str
    target: str
    process: str = "Dense"  # "Dense" | "DelayDense" | "Sparse" | "DelaySparse"
    sign: str = MIXED
    max_delay: int = 0  # DelayDense/DelaySparse: per-synapse delays drawn from 0..max_delay
    scalar_delay: bool = False  # DelayDense/DelaySparse: one delay (max_delay) for all
    density: float = 1.0  # fraction of nonzero mantissas
    regime: str | None = None  # overrides the network's regime for this projection


@dataclass(frozen=True)
class NetworkRecipe:
    sizes: dict[str, int]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    projections: tuple[Recipe, ...]
    regime: str = "typical"
    extra_layout: dict = field(default_factory=dict)


def _draw(rng: np.random.Generator, bounds: tuple[int, int], size=None) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, size=size, dtype=np.int64)


def _weights(rng: np.random.Generator, recipe: Recipe, shape: tuple[int, int]) -> np.ndarray:
    magnitude = _draw(rng, (1, WEIGHT_DRAW_MAX), shape)
    if recipe.sign == EXCITATORY:
        values = magnitude
    elif recipe.sign == INHIBITORY:
        values = -magnitude
    else:
        values = magnitude * rng.choice(np.array([-1, 1]), size=shape)
    return np.where(rng.random(shape) < recipe.density, values, 0)


def _population(rng, name, size, is_input, regime: Regime) -> tuple[PopulationSpec,
                                                                     LifSpec | None]:
    events = [_draw(rng, bounds, size) for bounds in ((0, 3), (0, 5), (0, 5))]
    pop = PopulationSpec(name, size, is_input, np.zeros(size, dtype=np.int64), *events)
    if is_input:
        return pop, None
    scalars = [int(_draw(rng, bounds)) for bounds in (regime.du, regime.dv, regime.vth)]
    return pop, LifSpec(name, size, *scalars, _draw(rng, regime.bias_mant, size),
                        _draw(rng, regime.bias_exp, size), np.ones(size))


def _projection(rng, name, recipe: Recipe, shape, regime: Regime) -> ProjectionSpec:
    weight = _weights(rng, recipe, shape)
    exp, bits = int(_draw(rng, regime.weight_exp)), int(_draw(rng, regime.num_weight_bits))
    stored = sp.csr_array(weight) if recipe.process in CSR_PROCESSES else weight
    if recipe.process in DELAY_PROCESSES and not recipe.scalar_delay:
        # DelayDense: (post, pre); DelaySparse: one per stored synapse, aligned with the CSR
        delay_shape = shape if recipe.process == "DelayDense" else (stored.nnz,)
        delay = _draw(rng, (0, recipe.max_delay), delay_shape)
    else:
        delay = np.array(recipe.max_delay, dtype=np.int64)
    return ProjectionSpec(name, recipe.process, recipe.source, recipe.target, stored, exp, bits,
                          delay)


def _graph(recipe: NetworkRecipe, projections: dict[str, ProjectionSpec]) -> Graph:
    pops = {name: Population(name, "input" if name in recipe.inputs else "lif", (size,),
                             {} if name in recipe.inputs else {"tau_s": 0.02, "v_threshold": 1.0},
                             reset="none" if name in recipe.inputs else "to_value")
            for name, size in recipe.sizes.items()}
    projs = {name: Projection(name, p.source, p.target, p.weight.astype(float), p.delay + 1)
             for name, p in projections.items()}
    return Graph(DT_S, pops, projs, recipe.inputs, recipe.outputs)


def build_network(recipe: NetworkRecipe, seed: int,
                  target: LoihiSpec = SWEEP_TARGET) -> NetworkSpec:
    """The records of a network for ``recipe`` with integer parameters drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    base = REGIMES[recipe.regime]
    pops, lifs = {}, {}
    for name, size in recipe.sizes.items():
        pops[name], lif = _population(rng, name, size, name in recipe.inputs, base)
        if lif is not None:
            lifs[name] = lif
    projs = {}
    for i, r in enumerate(recipe.projections):
        shape = (recipe.sizes[r.target], recipe.sizes[r.source])
        projs[f"p{i}"] = _projection(rng, f"p{i}", r, shape,
                                     REGIMES[r.regime] if r.regime else base)
    return NetworkSpec(pops, lifs, projs, recipe.inputs, recipe.outputs, LATENCY_STEPS, target)


def artifact_of(net: NetworkSpec, graph: Graph, extra_layout: dict | None = None) -> Artifact:
    """An artifact holding ``net`` (written by the section writer) and the float ``graph``."""
    layout, arrays = write_section(net)
    for entry in layout["populations"].values():
        entry.update(latency_offset=0, cores=[0])
    layout.update(step_order=list(net.populations), cores=[], resources={},
                  **(extra_layout or {}))
    return Artifact(net.target.name, "loihi", graph, layout, {SECTION: arrays})


def build_artifact(recipe: NetworkRecipe, seed: int,
                   target: LoihiSpec = SWEEP_TARGET) -> Artifact:
    """A Loihi-family artifact for ``recipe`` with integer parameters drawn from ``seed``."""
    net = build_network(recipe, seed, target)
    return artifact_of(net, _graph(recipe, dict(net.projections)), recipe.extra_layout)


def random_spikes(rng: np.random.Generator, batch: int, steps: int, n_in: int,
                  rate: float) -> np.ndarray:
    """Bernoulli 0/1 input spikes (batch, steps, n_in)."""
    return (rng.random((batch, steps, n_in)) < rate).astype(np.uint8)


# -- the topologies the tests sweep ----------------------------------------------------------
def feed_forward(sign: str = MIXED, regime: str = "typical") -> NetworkRecipe:
    return NetworkRecipe({"in": 12, "h1": 16, "h2": 10, "out": 6}, ("in",), ("out",),
                         (Recipe("in", "h1", sign=sign), Recipe("h1", "h2", sign=sign),
                          Recipe("h2", "out", sign=sign)), regime)


def recurrent() -> NetworkRecipe:
    """A self-recurrent projection; ``solo`` has no projection at all (bias only)."""
    return NetworkRecipe({"in": 10, "h": 20, "out": 5, "solo": 4}, ("in",), ("out",),
                         (Recipe("in", "h"), Recipe("h", "h", density=0.3),
                          Recipe("h", "out", sign=EXCITATORY)))


def delayed() -> NetworkRecipe:
    return NetworkRecipe({"in": 10, "h": 14, "out": 6}, ("in",), ("out",),
                         (Recipe("in", "h", process="DelayDense", max_delay=6),
                          Recipe("h", "out", process="DelayDense", max_delay=3,
                                 scalar_delay=True),
                          Recipe("h", "h", process="DelayDense", max_delay=4, density=0.2)))


def delayed_sparse() -> NetworkRecipe:
    """DelaySparse projections: per-synapse delays 0..5 feed-forward and recurrent, one
    delay for all synapses, and a DelayDense beside them into the same population."""
    return NetworkRecipe({"in": 12, "h": 16, "out": 7}, ("in",), ("out",),
                         (Recipe("in", "h", process="DelaySparse", max_delay=5, density=0.4),
                          Recipe("h", "h", process="DelaySparse", max_delay=4, density=0.2),
                          Recipe("h", "out", process="DelaySparse", max_delay=2,
                                 scalar_delay=True, density=0.5, sign=EXCITATORY),
                          Recipe("in", "out", process="DelayDense", max_delay=3, density=0.3)))


def sparse_fan_in() -> NetworkRecipe:
    """Two inputs; two projections into ``h`` and into ``out``; a Sparse CSR projection."""
    return NetworkRecipe({"a": 9, "b": 7, "h": 15, "out": 8}, ("a", "b"), ("h", "out"),
                         (Recipe("a", "h", process="Sparse", density=0.3),
                          Recipe("b", "h", sign=INHIBITORY),
                          Recipe("h", "out", process="Sparse", sign=EXCITATORY, density=0.4),
                          Recipe("a", "out", density=0.5)))


def saturating(sign: str) -> NetworkRecipe:
    """Huge shifted inputs of one sign: u can only change sign by wrapping around."""
    return NetworkRecipe({"in": 12, "h": 10}, ("in",), ("h",),
                         (Recipe("in", "h", sign=sign),), "saturating")
