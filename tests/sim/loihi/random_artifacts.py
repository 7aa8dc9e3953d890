"""Random Loihi-family artifacts built directly (no compiler), per docs/loihi-artifact.md.

A network is described by populations (name -> size), the input names, and
projection recipes; every integer parameter is drawn from a seeded generator
within the ranges a regime sets. ``REGIMES`` covers ordinary spiking and
pushing u past its 24-bit range and v into saturation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurocc.backends.artifact import Artifact
from neurocc.compiler.graph import Graph, Population, Projection

DT_S = 1e-3
MIXED, EXCITATORY, INHIBITORY = "mixed", "excitatory", "inhibitory"
SIGN_MODES = (MIXED, EXCITATORY, INHIBITORY)
# Weight mantissas slightly beyond Lava's 8-bit clip range, so clipping is exercised
WEIGHT_DRAW_MAX = 300


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
    process: str = "Dense"  # "Dense" | "DelayDense" | "Sparse"
    sign: str = MIXED
    max_delay: int = 0  # DelayDense: per-synapse delays drawn from 0..max_delay
    scalar_delay: bool = False  # DelayDense: one delay (max_delay) for every synapse
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


def _population_arrays(rng, name, size, is_input, regime: Regime) -> dict[str, np.ndarray]:
    arrays = {
        f"pop/{name}/core": np.zeros(size, dtype=np.int64),
        f"pop/{name}/msg_per_spike": _draw(rng, (0, 3), size),
        f"pop/{name}/hops_ew_per_spike": _draw(rng, (0, 5), size),
        f"pop/{name}/hops_ns_per_spike": _draw(rng, (0, 5), size),
    }
    if not is_input:
        arrays.update({
            f"pop/{name}/du": _draw(rng, regime.du), f"pop/{name}/dv": _draw(rng, regime.dv),
            f"pop/{name}/vth": _draw(rng, regime.vth),
            f"pop/{name}/bias_mant": _draw(rng, regime.bias_mant, size),
            f"pop/{name}/bias_exp": _draw(rng, regime.bias_exp, size),
        })
    return arrays


def _projection_arrays(rng, name, recipe: Recipe, shape, regime: Regime) -> dict[str, np.ndarray]:
    weight = _weights(rng, recipe, shape)
    arrays = {f"proj/{name}/weight_exp": _draw(rng, regime.weight_exp),
              f"proj/{name}/num_weight_bits": _draw(rng, regime.num_weight_bits)}
    if recipe.process == "Sparse":
        csr = sp.csr_array(weight)
        arrays.update({f"proj/{name}/weight/data": csr.data.astype(np.int64),
                       f"proj/{name}/weight/indices": csr.indices.astype(np.int64),
                       f"proj/{name}/weight/indptr": csr.indptr.astype(np.int64)})
    else:
        arrays[f"proj/{name}/weight"] = weight
    if recipe.process == "DelayDense" and not recipe.scalar_delay:
        arrays[f"proj/{name}/delay"] = _draw(rng, (0, recipe.max_delay), shape)
    else:
        arrays[f"proj/{name}/delay"] = np.array(recipe.max_delay, dtype=np.int64)
    return arrays


def _graph(recipe: NetworkRecipe, arrays: dict[str, np.ndarray]) -> Graph:
    pops = {name: Population(name, "input" if name in recipe.inputs else "lif", (size,),
                             {} if name in recipe.inputs else {"tau_s": 0.02, "v_threshold": 1.0},
                             reset="none" if name in recipe.inputs else "to_value")
            for name, size in recipe.sizes.items()}
    projs = {}
    for i, r in enumerate(recipe.projections):
        name = f"p{i}"
        shape = (recipe.sizes[r.target], recipe.sizes[r.source])
        if r.process == "Sparse":
            key = f"proj/{name}/weight"
            weight = sp.csr_array((arrays[f"{key}/data"].astype(float), arrays[f"{key}/indices"],
                                   arrays[f"{key}/indptr"]), shape=shape)
        else:
            weight = arrays[f"proj/{name}/weight"].astype(float)
        delay = arrays[f"proj/{name}/delay"]
        projs[name] = Projection(name, r.source, r.target, weight, delay + 1)
    return Graph(DT_S, pops, projs, recipe.inputs, recipe.outputs)


def build_artifact(recipe: NetworkRecipe, seed: int) -> Artifact:
    """A Loihi-family artifact for ``recipe`` with integer parameters drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    base = REGIMES[recipe.regime]
    arrays: dict[str, np.ndarray] = {}
    for name, size in recipe.sizes.items():
        arrays.update(_population_arrays(rng, name, size, name in recipe.inputs, base))
    layout_projs = {}
    for i, r in enumerate(recipe.projections):
        shape = (recipe.sizes[r.target], recipe.sizes[r.source])
        regime = REGIMES[r.regime] if r.regime else base
        arrays.update(_projection_arrays(rng, f"p{i}", r, shape, regime))
        layout_projs[f"p{i}"] = {"process": r.process, "source": r.source, "target": r.target}
    layout = {
        "populations": {name: {"process": "RingBuffer" if name in recipe.inputs else "LIF",
                               "size": size, "latency_offset": 0, "cores": [0]}
                        for name, size in recipe.sizes.items()},
        "projections": layout_projs,
        "step_order": list(recipe.sizes),
        "latency_steps": 2,
        "cores": [], "resources": {}, "target": {"name": "loihi2"},
        **recipe.extra_layout,
    }
    return Artifact("loihi2", "loihi", _graph(recipe, arrays), layout, {"loihi": arrays})


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
