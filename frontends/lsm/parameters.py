"""The few numbers that define a liquid state machine: :class:`LsmParameters`.

Every value is checked when the record is made (a :class:`FrontendError` naming
the field, the value and the allowed range), so :func:`~neurocc.frontends.lsm.build_lsm`
only ever sees a valid recipe. Sizes are checked here too, before anything is
allocated: the expected synapse count comes from the recipe alone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.neurons import RESET_SUBTRACT, RESET_TO_VALUE
from neurocc.frontends.lsm.sampling import (
    MAGNITUDE_DISTRIBUTIONS,
    MAX_NEURONS,
    MAX_OFFSETS,
    MAX_SYNAPSES,
    grid_expected,
    offset_count,
    uniform_expected,
)

PAIR_NAMES = ("ee", "ei", "ie", "ii")


@dataclass(frozen=True)
class EiPair:
    """One value per (presynaptic, postsynaptic) type: ``ei`` is E -> I."""

    ee: float
    ei: float
    ie: float
    ii: float

    def table(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``table[pre][post]`` with 0 = excitatory, 1 = inhibitory."""
        return ((self.ee, self.ei), (self.ie, self.ii))

    def values(self) -> tuple[float, float, float, float]:
        return (self.ee, self.ei, self.ie, self.ii)


def steps(delay_s: float, dt_s: float) -> int:
    """``delay_s / dt_s`` rounded to the nearest integer, halves up (1.5 ms at 1 ms: 2)."""
    return math.floor(delay_s / dt_s + 0.5)


def _uniform(value: float) -> EiPair:
    return EiPair(value, value, value, value)


@dataclass(frozen=True)
class LsmParameters:
    """A reservoir recipe in the style of Maass, Natschläger & Markram (2002).

    ``shape`` is the reservoir's grid (1 to 3 dimensions, unit spacing); a
    fraction ``excitatory_fraction`` of it (rounded) is excitatory, the rest
    inhibitory, chosen at random. Each ordered pair of distinct neurons a -> b
    is connected with probability ``connectivity[type(a), type(b)] *
    exp(-(D(a, b) / length_constant)^2)`` (D: Euclidean grid distance), or
    ``connectivity[...]`` alone when ``length_constant`` is None. Weight
    magnitudes are drawn from ``weight_distribution`` with mean
    ``weight_mean[pair]`` and coefficient of variation ``weight_cv``; the sign is
    that of the presynaptic neuron (inhibitory weights are negative).
    Recurrent delays (``delay_s`` per pair) round to whole steps of ``dt_s`` and
    must give at least one step. Each input reaches ``round(input_fraction *
    n_reservoir)`` reservoir neurons chosen at random, with positive weights of
    mean ``input_weight`` (same distribution and cv) and no delay. Neurons are
    ``lif`` (``cubalif`` when ``tau_syn_s`` is given); the readout is ``li``
    with ``readout_tau_s``, all-to-all from the reservoir with zero weights
    until :func:`~neurocc.frontends.lsm.train_readout` fills them.
    """

    n_inputs: int
    shape: tuple[int, ...] = (15, 3, 3)
    excitatory_fraction: float = 0.8
    connectivity: EiPair = field(default_factory=lambda: EiPair(0.3, 0.2, 0.4, 0.1))
    length_constant: float | None = 2.0
    weight_mean: EiPair = field(default_factory=lambda: EiPair(3.0, 6.0, 2.0, 2.0))
    weight_distribution: str = "gamma"
    weight_cv: float = 0.5
    delay_s: EiPair = field(default_factory=lambda: _uniform(1e-3))
    input_fraction: float = 0.3
    input_weight: float = 4.0
    tau_s: float = 30e-3
    tau_syn_s: float | None = None
    v_threshold: float = 1.0
    v_reset: float = 0.0
    bias: float = 0.0
    reset: str = RESET_TO_VALUE
    n_readout: int = 10
    readout_tau_s: float = 30e-3
    dt_s: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for field_name in ("connectivity", "weight_mean", "delay_s"):
            object.__setattr__(self, field_name, _pair_from(field_name,
                                                            getattr(self, field_name)))
        object.__setattr__(self, "shape", _shape(self.shape))
        for check in (_check_counts, _check_fractions, _check_times, _check_weights,
                      _check_choices, _check_size):
            check(self)

    @property
    def n_reservoir(self) -> int:
        return math.prod(self.shape)

    @property
    def n_excitatory(self) -> int:
        return round(self.excitatory_fraction * self.n_reservoir)

    @property
    def model(self) -> str:
        return "lif" if self.tau_syn_s is None else "cubalif"

    def delay_steps(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Recurrent delays in steps, ``[pre][post]`` (0 = E): ``delay_s / dt_s`` rounded to
        the nearest integer, halves up."""
        (ee, ei), (ie, ii) = self.delay_s.table()
        return ((steps(ee, self.dt_s), steps(ei, self.dt_s)),
                (steps(ie, self.dt_s), steps(ii, self.dt_s)))

    def replace(self, **changes: Any) -> LsmParameters:
        """A checked copy with some fields changed (unknown names are an error)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise FrontendError("LsmParameters", f"has no field {unknown[0]!r}.",
                                f"Fields: {', '.join(f.name for f in dataclasses.fields(self))}.")
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain JSON types (stored in the graph and NIR metadata)."""
        return dataclasses.asdict(self) | {"shape": list(self.shape)}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> LsmParameters:
        pairs = {k: EiPair(**data[k]) for k in ("connectivity", "weight_mean", "delay_s")}
        return LsmParameters(**{**data, **pairs, "shape": tuple(data["shape"])})


# -- checks ---------------------------------------------------------------------------------
def _error(field_name: str, what: str, hint: str) -> FrontendError:
    return FrontendError(f"LsmParameters.{field_name}", what, hint)


def _pair_from(field_name: str, value: Any) -> EiPair:
    """An EiPair from an EiPair, a mapping with keys ee, ei, ie, ii, or four values."""
    if isinstance(value, EiPair):
        return value
    if isinstance(value, Mapping) and set(value) == set(PAIR_NAMES):
        return EiPair(**{k: value[k] for k in PAIR_NAMES})
    if isinstance(value, list | tuple) and len(value) == len(PAIR_NAMES):
        return EiPair(*value)
    raise _error(field_name, f"is {value!r}; expected one value per (pre, post) type.",
                 "Give EiPair(ee, ei, ie, ii) (ei: E -> I), a mapping with those keys, or "
                 "four values in that order.")


def _shape(shape: Any) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) and not isinstance(d, bool)
                                          and d >= 1 for d in dims):
        raise _error("shape", f"is {shape!r}; expected 1 to 3 positive integers.",
                     "For example (15, 3, 3) (Maass 2002) or (1000,).")
    return dims


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_counts(p: LsmParameters) -> None:
    for name, low in (("n_inputs", 1), ("n_readout", 1), ("seed", 0)):
        if not _is_int(getattr(p, name), low):
            raise _error(name, f"is {getattr(p, name)!r}; expected an integer >= {low}.",
                         "Sizes and seeds are whole numbers.")


def _in_unit(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise _error(name, f"is {value!r}; expected a probability in [0, 1].",
                     "Connection probabilities and fractions lie between 0 and 1.")


def _check_fractions(p: LsmParameters) -> None:
    _in_unit("excitatory_fraction", p.excitatory_fraction)
    _in_unit("input_fraction", p.input_fraction)
    for name, value in zip(PAIR_NAMES, p.connectivity.values(), strict=True):
        _in_unit(f"connectivity.{name}", value)
    if p.length_constant is not None and not _positive(p.length_constant):
        raise _error("length_constant", f"is {p.length_constant!r}; expected > 0 grid units, "
                     "or None for no distance dependence.", "Maass (2002) used 2.")


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value) and value > 0


def _check_times(p: LsmParameters) -> None:
    for name in ("dt_s", "tau_s", "readout_tau_s"):
        if not _positive(getattr(p, name)):
            raise _error(name, f"is {getattr(p, name)!r}; expected a time > 0 in seconds.",
                         "For example 30e-3 for 30 ms.")
    if p.tau_syn_s is not None and not _positive(p.tau_syn_s):
        raise _error("tau_syn_s", f"is {p.tau_syn_s!r}; expected a time > 0 in seconds, or "
                     "None for LIF neurons.", "For example 3e-3 for 3 ms.")
    for name, delay_s in zip(PAIR_NAMES, p.delay_s.values(), strict=True):
        if not (isinstance(delay_s, int | float) and math.isfinite(delay_s)
                and steps(delay_s, p.dt_s) >= 1):
            raise _error(f"delay_s.{name}", f"is {delay_s!r} s, which rounds to fewer than one "
                         f"step of dt_s = {p.dt_s:g} s.", "A recurrent synapse needs a delay "
                         "of at least one step: give delay_s >= dt_s / 2.")


def _check_weights(p: LsmParameters) -> None:
    for name, value in [*(("weight_mean." + n, v) for n, v in
                          zip(PAIR_NAMES, p.weight_mean.values(), strict=True)),
                        ("input_weight", p.input_weight)]:
        if not _positive(value):
            raise _error(name, f"is {value!r}; expected a magnitude > 0.", "Signs follow the "
                         "presynaptic type; remove a connection with connectivity 0 instead.")
    if not (isinstance(p.weight_cv, int | float) and 0 <= p.weight_cv < 100):
        raise _error("weight_cv", f"is {p.weight_cv!r}; expected a coefficient of variation "
                     "in [0, 100).", "Maass (2002) used 0.5 (standard deviation half the mean).")
    for name in ("v_threshold", "v_reset", "bias"):
        if not (isinstance(getattr(p, name), int | float) and math.isfinite(getattr(p, name))):
            raise _error(name, f"is {getattr(p, name)!r}; expected a finite number.",
                         "Voltages are in the model's own units.")


def _check_choices(p: LsmParameters) -> None:
    if p.weight_distribution not in MAGNITUDE_DISTRIBUTIONS:
        raise _error("weight_distribution", f"is {p.weight_distribution!r}.",
                     f"Use one of {list(MAGNITUDE_DISTRIBUTIONS)}.")
    if p.reset not in (RESET_TO_VALUE, RESET_SUBTRACT):
        raise _error("reset", f"is {p.reset!r}.", f"Use '{RESET_TO_VALUE}' or "
                     f"'{RESET_SUBTRACT}'.")


def expected_synapses(p: LsmParameters) -> float:
    """Recurrent plus input synapses the recipe gives on average (nothing is drawn); the
    E/I pair shares are those of types drawn at random."""
    n = p.n_reservoir
    e = p.n_excitatory / n
    shares = (e * e, e * (1 - e), (1 - e) * e, (1 - e) ** 2)
    mean_c = sum(s * c for s, c in zip(shares, p.connectivity.values(), strict=True))
    if p.length_constant is None:
        pairs = uniform_expected(n, n, 1.0, self_connections=False)
    else:  # the sum of exp(-(D/lambda)^2) over pairs, with the sampler's own cutoff
        peak = max(p.connectivity.values())
        pairs = grid_expected(p.shape, p.shape, peak, p.length_constant, False) / peak \
            if peak > 0 else 0.0
    return mean_c * pairs + p.n_inputs * round(p.input_fraction * n)


def _check_size(p: LsmParameters) -> None:
    if p.n_reservoir > MAX_NEURONS:
        raise _error("shape", f"{p.shape} holds {p.n_reservoir:,} neurons, more than the "
                     f"limit of {MAX_NEURONS:,}.", "Use a smaller grid.")
    if p.n_readout * p.n_reservoir > MAX_SYNAPSES:
        raise _error("n_readout", f"{p.n_readout} x {p.n_reservoir:,} readout weights exceed "
                     f"the limit of {MAX_SYNAPSES:,}.", "Use fewer readout neurons.")
    peak = max(p.connectivity.values())
    if p.length_constant is not None and offset_count(p.shape, p.shape, peak,
                                                       p.length_constant) > MAX_OFFSETS:
        raise _error("length_constant", f"{p.length_constant:g} on the grid {p.shape} spans "
                     f"more than {MAX_OFFSETS:,} grid offsets.", "Use a shorter length "
                     "constant, or None for no distance dependence.")
    total = expected_synapses(p)
    if total > MAX_SYNAPSES:
        raise _error("connectivity", f"gives about {total:,.0f} synapses, more than the limit "
                     f"of {MAX_SYNAPSES:,}.", "Lower the connection probabilities, the length "
                     "constant or input_fraction.")
