"""``delays.legalize``: fit learned or imported delays to a target's delay range.

1. **Round to steps.** A projection whose metadata holds ``delay_s`` (delays in
   seconds, one value or one per synapse, as an importer may leave them) gets
   ``delay_steps = floor(delay_s / dt + 1/2)``; the error ``|steps * dt -
   delay_s|`` is recorded (in steps and seconds) and ``delay_s`` is dropped.
2. **Fit the maximum** ``D = max_delay_steps`` (the target's ``delay_max_steps``
   when compiling for a target that has one). A synapse with delay ``d > D``:

   - ``overflow=relay`` (default): is re-routed through a chain of ``k =
     ceil(d / D) - 1`` relay neurons, each reached after ``D`` steps, and the
     last hop keeps ``d - k*D`` (in ``1..D``): the total is exactly ``d``.
     A relay is a ``lif`` neuron with ``tau_s = dt``, ``r = 1``, ``v_leak = 0``,
     threshold 1/2 and reset to 0, so its Euler step is ``v = I``: it fires in
     the step its one input spike (weight 1) arrives and never otherwise.
     Relays are shared: level ``l`` of projection ``P`` is one population
     ``P.relay<l>`` with one neuron per source neuron that needs ``l`` hops or
     more; the synapses leave level ``l`` in projection ``P.via<l>``. Timing
     error: none. Cost: the relay neurons and synapses (recorded). Targets
     place relays like any ``lif`` population, so they are allowed wherever
     the target maps ``lif`` (compile checks it).
   - ``overflow=error``: stops, naming the projection, the delay and the limit.
   - ``overflow=clip``: sets ``d = D`` and records the timing error it introduces.

The effect lists, per projection and in total, the synapses over the limit,
the timing error (rounding and clipping) and the relay neurons added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.passes import register_pass

NAME = "delays.legalize"
DELAY_S = "delay_s"  # projection metadata: imported delays in seconds, to be rounded
RELAY_MODEL, RELAY_RESET, RELAY_THRESHOLD = "lif", "to_value", 0.5


@dataclass(frozen=True)
class LegalizeOptions:
    """Options of ``delays.legalize``."""

    max_delay_steps: int | None = field(default=None, metadata={
        "help": "largest delay a synapse may have (default: the target's delay_max_steps)",
        "target_fact": "delay_max_steps"})
    overflow: Literal["relay", "error", "clip"] = field(default="relay", metadata={
        "help": "a longer delay: relay-neuron chain (exact), stop with an error, or clip to the "
                "maximum (recorded timing error)"})


def _error(where: str, what: str, hint: str) -> NeuroccError:
    return NeuroccError(f"pass '{NAME}': {where}", what, hint)


def _rounded(graph: Graph, proj: Projection) -> tuple[Projection, dict[str, float]]:
    """``proj`` with ``delay_s`` rounded to steps, and the rounding error."""
    if DELAY_S not in proj.metadata:
        return proj, {}
    seconds = np.asarray(proj.metadata[DELAY_S], dtype=np.float64)
    if not np.all(np.isfinite(seconds)) or (seconds.size and seconds.min() < 0):
        raise _error(f"projection '{proj.name}': metadata '{DELAY_S}'", "holds negative or "
                     "non-finite delays.", "Give delays in seconds, >= 0.")
    steps = np.floor(seconds / graph.dt_s + 0.5).astype(np.int64)
    error_s = np.abs(steps * graph.dt_s - seconds)
    metadata = {k: v for k, v in proj.metadata.items() if k != DELAY_S}
    try:
        rounded = Projection(proj.name, proj.source, proj.target, proj.weight, steps, metadata,
                             proj.receptor)
    except NeuroccError as exc:
        raise _error(f"projection '{proj.name}': metadata '{DELAY_S}'", f"has shape "
                     f"{seconds.shape}, which no delay_steps of the projection may have.",
                     "Give one delay or one per synapse.") from exc
    return rounded, {"rounding_error_max_s": float(error_s.max(initial=0.0)),
                     "rounding_error_mean_s": float(error_s.mean()) if error_s.size else 0.0,
                     "rounding_error_max_steps": float(error_s.max(initial=0.0) / graph.dt_s)}


def _with_delays(proj: Projection, keep: np.ndarray, delays: np.ndarray) -> Projection:
    """``proj`` with per-synapse ``delays`` (coo order), only the synapses in ``keep``."""
    if proj.is_sparse:
        weight = sp.csr_array(proj.weight, copy=True)
        weight.data = np.where(keep, weight.data, 0.0)
        data_delays = delays.copy()
        weight.eliminate_zeros()  # keeps the CSR order of the remaining entries
        return Projection(proj.name, proj.source, proj.target, weight,
                          data_delays[keep & (proj.weight.data != 0)], proj.metadata,
                          proj.receptor)
    dense = np.where(keep.reshape(proj.shape), proj.dense_weight(), 0.0)
    return Projection(proj.name, proj.source, proj.target, dense,
                      np.where(keep, delays, 0).reshape(proj.shape), proj.metadata, proj.receptor)


def _relay_population(graph: Graph, name: str, size: int, proj: Projection, level: int
                      ) -> Population:
    values = {"tau_s": graph.dt_s, "r": 1.0, "v_leak": 0.0, "v_threshold": RELAY_THRESHOLD,
              "v_reset": 0.0, "bias": 0.0}
    params = {key: np.full(size, value) for key, value in values.items()}
    return Population(name, RELAY_MODEL, (size,), params, RELAY_RESET,
                      {"relay_of": proj.name, "level": level})


def _relay(graph: Graph, proj: Projection, limit: int, pops: dict[str, Population],
           projs: dict[str, Projection]) -> dict[str, int]:
    """Replace ``proj`` in ``projs`` by its direct part and relay chains (module docstring)."""
    if graph.populations[proj.source].neuron_model.event_value:
        raise _error(f"projection '{proj.name}'", f"has delays above {limit} steps from the "
                     f"graded population '{proj.source}', whose event values a relay cannot "
                     "carry.", "Use overflow=error or clip, or shorten the delays.")
    post, pre, weight, delay = proj.coo()
    hops = np.where((weight != 0) & (delay > limit), -(-delay // max(limit, 1)) - 1, 0)
    direct = hops == 0
    projs[proj.name] = _with_delays(proj, direct, np.minimum(delay, limit))
    previous, prev_sources = proj.source, None
    neurons = synapses = 0
    for level in range(1, int(hops.max(initial=0)) + 1):
        sources = np.unique(pre[hops >= level])
        name = f"{proj.name}.relay{level}"
        if name in pops or name in projs:
            raise _error(f"projection '{proj.name}'", f"needs the name '{name}', which the "
                         "graph already uses.", "Rename that node.")
        pops[name] = _relay_population(graph, name, len(sources), proj, level)
        feed_cols = sources if prev_sources is None else np.searchsorted(prev_sources, sources)
        feed_shape = (len(sources), graph.populations[proj.source].size if prev_sources is None
                      else len(prev_sources))
        feed = sp.csr_array((np.ones(len(sources)), (np.arange(len(sources)), feed_cols)),
                            shape=feed_shape)
        projs[f"{name}.in"] = Projection(f"{name}.in", previous, name, feed,
                                         np.array(limit, dtype=np.int64))
        mine = hops == level
        out = sp.csr_array((weight[mine], (post[mine], np.searchsorted(sources, pre[mine]))),
                           shape=(proj.shape[0], len(sources)))
        order = np.lexsort((np.searchsorted(sources, pre[mine]), post[mine]))  # CSR order
        projs[f"{proj.name}.via{level}"] = Projection(
            f"{proj.name}.via{level}", name, proj.target, out,
            (delay[mine] - level * limit)[order], proj.metadata, proj.receptor)
        previous, prev_sources = name, sources
        neurons += len(sources)
        synapses += len(sources) + int(mine.sum())
    return {"relay_neurons": neurons, "relay_synapses_added": synapses,
            "relay_levels": int(hops.max(initial=0))}


def _limit(options: LegalizeOptions) -> int:
    if options.max_delay_steps is None:
        raise _error("option 'max_delay_steps'", "is not given and the target has no "
                     "'delay_max_steps' fact.", "Give max_delay_steps=N, the longest delay "
                     "the target's synapses hold.")
    if options.max_delay_steps < 0 or (options.overflow == "relay" and
                                       options.max_delay_steps == 0):
        raise _error("option 'max_delay_steps'", f"is {options.max_delay_steps}; expected >= 1 "
                     "(>= 0 without relays).", "Give the longest delay in steps.")
    return options.max_delay_steps


@register_pass(NAME, LegalizeOptions, "fit delays to the target: round delay_s to steps; "
               "longer than the maximum: relay-neuron chains, error or clip (timing error "
               "recorded)", provides=("delays_legal",))
def legalize(graph: Graph, options: LegalizeOptions) -> tuple[Graph, dict[str, Any]]:
    limit = _limit(options)
    pops, projs = dict(graph.populations), dict(graph.projections)
    effect: dict[str, Any] = {}
    errors: list[np.ndarray] = []
    for name, original in graph.projections.items():
        proj, record = _rounded(graph, original)
        projs[name] = proj
        _, _, weight, delay = proj.coo()
        over = (weight != 0) & (delay > limit)
        record.update({"synapses": int(np.count_nonzero(weight)),
                       "over_limit": int(over.sum()), "max_delay_steps_before": proj.max_delay})
        if over.any() and options.overflow == "error":
            raise _error(f"projection '{name}' ({proj.source} -> {proj.target})",
                         f"has a delay of {int(delay[over].max())} steps, above the target's "
                         f"limit of {limit} steps ({int(over.sum())} synapses over it).",
                         "Use overflow=relay (relay-neuron chains) or overflow=clip, or learn "
                         f"delays with max_delay_steps={limit}.")
        timing = np.zeros(len(delay), dtype=np.int64)  # per synapse: relays are exact
        if over.any() and options.overflow == "clip":
            projs[name] = _with_delays(proj, np.ones_like(over), np.minimum(delay, limit))
            timing = np.where(over, delay - limit, 0)
            record["clip_error_max_steps"] = int(timing.max())
        elif over.any():
            record.update(_relay(graph, proj, limit, pops, projs))
        errors.append(timing[weight != 0])
        effect[name] = record
    timing = np.concatenate(errors or [np.zeros(0)])
    summary = {"max_delay_steps": limit, "overflow": options.overflow,
               "over_limit": sum(r["over_limit"] for r in effect.values()),
               "relay_neurons": sum(r.get("relay_neurons", 0) for r in effect.values()),
               "timing_error_max_steps": float(timing.max(initial=0.0)),
               "timing_error_mean_steps": float(timing.mean()) if timing.size else 0.0,
               "rounding_error_max_steps": max((r.get("rounding_error_max_steps", 0.0)
                                               for r in effect.values()), default=0.0),
               "projections": effect}
    return graph.replace(populations=pops, projections=projs), summary
