"""Zero-shot LSM on resistive memory: reservoir weights drawn from the device, not programmed.

The co-design of Lin et al., "Resistive memory-based zero-shot liquid state
machine for multimodal event data learning" (Nat. Comput. Sci. 5, 37-47, 2025):
the reservoir's weights are fixed and random, so instead of programming chosen
values into resistive cells (slow, and never exact), every cell is *formed*
once and keeps whatever conductance the stochastic dielectric breakdown gives
it (Wang et al., Nat. Mach. Intell. 5, 104-113, 2023, describe the breakdown
voltage as quasi-normal over an array). Only the digital readout is trained
(:func:`~neurocc.frontends.lsm.train_readout`).

One synapse is one differential pair of formed cells, and its weight is::

    w = scale * (G+ - G-) / (sqrt(2) * sigma_G)        G+, G- ~ forming distribution

so ``w`` has mean 0 and, for the untruncated normal law, standard deviation
``scale`` (``input_scale`` for input synapses, ``recurrent_scale`` for the
reservoir's own). Each cell's conductance ``G`` follows
:class:`FormingDistribution`: with probability ``unformed_fraction`` the cell
does not break down and keeps its pristine conductance; otherwise ``G ~
Normal(g_mean_us, g_sd_us)`` clipped to ``[g_min_us, g_max_us]`` (the cell
cannot leave its physical range). Truncation and unformed cells make the real
weight law differ from a Gaussian: that difference is what the example measures
against :func:`gaussian_reservoir`, the software reservoir of the paper (the
same structure and scales with ``w ~ Normal(0, scale^2)``).

The structure (which synapses exist, neurons, delays, readout) comes from
:func:`~neurocc.frontends.lsm.build_lsm`; the recipe's E/I signs and magnitude
law are replaced, as in the paper (its reservoir has zero-mean random weights).
The conductances are not stored: :func:`formed_conductances` re-draws them
from the recipe in ``graph.metadata["lsm_zeroshot"]`` (same device seed, same
cells), which is what a crossbar backend needs to place them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Projection
from neurocc.frontends.lsm.build import INPUT_PROJECTION, RECURRENT, build_lsm
from neurocc.frontends.lsm.parameters import LsmParameters

METADATA_KEY = "lsm_zeroshot"  # graph.metadata[...]: the device recipe of a zero-shot reservoir
DEVICE_PROJECTIONS = (INPUT_PROJECTION, RECURRENT)  # the projections whose cells are formed
# the keys of a target file's device section that describe forming (FormingDistribution fields)
FORMING_KEYS = ("forming_g_mean_us", "forming_g_sd_us", "g_min_us", "g_max_us",
                "forming_unformed_fraction", "pristine_g_us")


@dataclass(frozen=True)
class FormingDistribution:
    """The conductance (µS) a resistive cell takes when it is formed once, unprogrammed.

    ``G = pristine_g_us`` with probability ``unformed_fraction`` (no breakdown),
    else ``clip(Normal(g_mean_us, g_sd_us), g_min_us, g_max_us)``.
    """

    g_mean_us: float
    g_sd_us: float
    g_min_us: float
    g_max_us: float
    unformed_fraction: float = 0.0
    pristine_g_us: float = 0.0

    def __post_init__(self) -> None:
        for name in ("g_mean_us", "g_sd_us", "g_max_us"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise FrontendError(f"FormingDistribution.{name}", f"is {value!r}; expected a "
                                    "conductance > 0 in µS.", "Read it from the device "
                                    "section of a crossbar target file.")
        if not 0 <= self.g_min_us <= self.g_mean_us <= self.g_max_us:
            raise FrontendError("FormingDistribution", f"has g_min_us {self.g_min_us}, "
                                f"g_mean_us {self.g_mean_us}, g_max_us {self.g_max_us}; "
                                "expected 0 <= g_min <= g_mean <= g_max.",
                                "Fix the device section of the target file.")
        if not 0 <= self.unformed_fraction < 1:
            raise FrontendError("FormingDistribution.unformed_fraction",
                                f"is {self.unformed_fraction!r}; expected a fraction in [0, 1).",
                                "0 forms every cell.")
        if not 0 <= self.pristine_g_us <= self.g_max_us:
            raise FrontendError("FormingDistribution.pristine_g_us",
                                f"is {self.pristine_g_us!r}; expected 0 <= it <= g_max_us.",
                                "A pristine cell is nearly an open circuit (about 0.1 µS).")

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` formed conductances in µS (float64)."""
        formed = np.clip(rng.normal(self.g_mean_us, self.g_sd_us, size),
                         self.g_min_us, self.g_max_us)
        unformed = rng.random(size) < self.unformed_fraction
        return np.where(unformed, self.pristine_g_us, formed)

    @staticmethod
    def from_target(target: Any) -> FormingDistribution:
        """From a crossbar target's device section (keys :data:`FORMING_KEYS`)."""
        missing = [key for key in FORMING_KEYS if not hasattr(target, key)]
        if missing:
            name = getattr(target, "name", type(target).__name__)
            raise FrontendError(f"target '{name}'", f"has no device key '{missing[0]}', so it "
                                "does not describe how its cells form.", "Use a resistive "
                                "target with forming keys (rram256), or give a "
                                "FormingDistribution directly.")
        values = [float(getattr(target, key)) for key in FORMING_KEYS]
        return FormingDistribution(*values)

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def _scale(name: str, value: Any) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise FrontendError(name, f"is {value!r}; expected a weight scale >= 0.",
                            "The standard deviation of the weights, for example 3.0.")
    return float(value)


def _with_weights(graph: Graph, draw: Callable[[str, int], np.ndarray],
                  metadata: Mapping[str, Any]) -> Graph:
    """``graph`` with the stored weights of the device projections replaced by ``draw(name,
    count)`` (in CSR order), and ``metadata`` added to the graph's."""
    projections = dict(graph.projections)
    for name in DEVICE_PROJECTIONS:
        old = projections[name]
        weight = old.weight.copy()
        weight.data = draw(name, len(weight.data))
        projections[name] = Projection(old.name, old.source, old.target, weight,
                                       old.delay_steps, old.metadata, old.receptor)
    return graph.replace(projections=projections, metadata={**graph.metadata, **metadata})


def _device_rng(device_seed: int) -> dict[str, np.random.Generator]:
    """One stream per device projection, so each array's cells are drawn independently."""
    streams = np.random.SeedSequence(device_seed).spawn(len(DEVICE_PROJECTIONS))
    return {name: np.random.default_rng(s) for name, s in zip(DEVICE_PROJECTIONS, streams,
                                                                strict=True)}


def _pairs(forming: FormingDistribution, device_seed: int, counts: Mapping[str, int]
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rngs = _device_rng(device_seed)
    return {name: (forming.draw(rngs[name], counts[name]), forming.draw(rngs[name], counts[name]))
            for name in DEVICE_PROJECTIONS}


def zeroshot_reservoir(params: LsmParameters, forming: FormingDistribution, *,
                       input_scale: float, recurrent_scale: float,
                       device_seed: int | None = None) -> Graph:
    """The reservoir of ``params`` with weights ``scale * (G+ - G-) / (sqrt(2) sigma_G)`` from
    formed cells; ``device_seed`` (default ``params.seed``) names the physical array."""
    scales = {INPUT_PROJECTION: _scale("input_scale", input_scale),
              RECURRENT: _scale("recurrent_scale", recurrent_scale)}
    seed = params.seed if device_seed is None else device_seed
    graph = build_lsm(params)
    counts = {name: len(graph.projections[name].weight.data) for name in DEVICE_PROJECTIONS}
    pairs = _pairs(forming, seed, counts)
    unit = math.sqrt(2.0) * forming.g_sd_us

    def draw(name: str, count: int) -> np.ndarray:
        g_plus, g_minus = pairs[name]
        return scales[name] * (g_plus - g_minus) / unit

    recipe = {"forming": forming.to_json(), "device_seed": seed,
              "input_scale": scales[INPUT_PROJECTION], "recurrent_scale": scales[RECURRENT]}
    return _with_weights(graph, draw, {METADATA_KEY: recipe})


def gaussian_reservoir(params: LsmParameters, *, input_scale: float,
                       recurrent_scale: float) -> Graph:
    """The software reservoir of the same structure: ``w ~ Normal(0, scale^2)`` (seeded by
    ``params.seed``)."""
    scales = {INPUT_PROJECTION: _scale("input_scale", input_scale),
              RECURRENT: _scale("recurrent_scale", recurrent_scale)}
    rngs = _device_rng(params.seed)
    return _with_weights(build_lsm(params),
                         lambda name, count: scales[name] * rngs[name].standard_normal(count),
                         {METADATA_KEY: {"software": "gaussian", **{
                             "input_scale": scales[INPUT_PROJECTION],
                             "recurrent_scale": scales[RECURRENT]}}})


def formed_conductances(graph: Graph) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{projection: (G+, G-)}`` in µS, aligned with the projection's CSR ``data``: the
    cells :func:`zeroshot_reservoir` formed, re-drawn from the recipe in the metadata."""
    recipe = graph.metadata.get(METADATA_KEY)
    if not isinstance(recipe, Mapping) or "forming" not in recipe:
        raise FrontendError("graph", "is not a zero-shot reservoir (no device recipe in "
                            f"metadata['{METADATA_KEY}']).",
                            "Build it with neurocc.frontends.lsm.zeroshot_reservoir(...).")
    forming = FormingDistribution(**recipe["forming"])
    counts = {name: len(graph.projections[name].weight.data) for name in DEVICE_PROJECTIONS}
    return _pairs(forming, int(recipe["device_seed"]), counts)
