"""Check the exact engine against Lava on one input: identical, or the first difference.

``neurocc verify DIR --against lava --input IN.npz`` calls
:func:`verify_against_lava` and exits 1 unless the report is identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.lava_export import checked_network, run_lava
from neurocc.sim.loihi import run_artifact
from neurocc.sim.result import SimResult

# Within a step Lava computes u, then v, then the spikes: report the earliest cause first
VARIABLES = ("u", "v", "spikes")


@dataclass(frozen=True)
class Difference:
    """Where the engine first departs from Lava (``step`` counts from 0; Lava's is step + 1)."""

    step: int
    sample: int
    population: str
    neuron: int
    variable: str
    lava_value: int
    engine_value: int

    def describe(self) -> str:
        return (f"step {self.step} (Lava time step {self.step + 1}), sample {self.sample}, "
                f"population '{self.population}', neuron {self.neuron}, {self.variable}: "
                f"Lava {self.lava_value}, engine {self.engine_value}")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of one comparison over ``steps`` steps of ``batch`` samples."""

    identical: bool
    steps: int
    batch: int
    populations: tuple[str, ...]
    variables: tuple[str, ...]
    first_difference: Difference | None

    def summary(self) -> str:
        scope = (f"{len(self.populations)} population(s), {', '.join(self.variables)}, "
                 f"{self.steps} steps x {self.batch} sample(s)")
        if self.first_difference is None:
            return f"identical to Lava (fixed_pt) over {scope}."
        return f"DIFFERENT from Lava (fixed_pt) over {scope}; first difference at " \
               f"{self.first_difference.describe()}."


def _first_in(lava: np.ndarray, engine: np.ndarray) -> tuple[int, int, int] | None:
    """The (step, sample, neuron) of the first mismatch in step-major order, if any."""
    mismatch = np.asarray(lava != engine).transpose(1, 0, 2)  # (T, batch, neurons)
    flat = np.flatnonzero(mismatch)
    if flat.size == 0:
        return None
    step, sample, neuron = np.unravel_index(flat[0], mismatch.shape)
    return int(step), int(sample), int(neuron)


def _trace(result: SimResult, variable: str, population: str) -> np.ndarray:
    if variable == "spikes":
        return result.spikes[population]
    return result.states[f"{variable}/{population}"]


def compare_results(lava: SimResult, engine: SimResult, populations: Sequence[str],
                    variables: Sequence[str] = VARIABLES) -> Difference | None:
    """The first difference (step, then sample, population order, variable order, neuron)."""
    best: tuple[tuple[int, ...], Difference] | None = None
    for p_index, population in enumerate(populations):
        for v_index, variable in enumerate(variables):
            expected, actual = _trace(lava, variable, population), _trace(engine, variable,
                                                                           population)
            where = _first_in(expected, actual)
            if where is None:
                continue
            step, sample, neuron = where
            key = (step, sample, p_index, v_index, neuron)
            if best is None or key < best[0]:
                best = (key, Difference(step, sample, population, neuron, variable,
                                        int(expected[sample, step, neuron]),
                                        int(actual[sample, step, neuron])))
    return None if best is None else best[1]


def verify_against_lava(artifact: Artifact, spikes: np.ndarray, *,
                        check_states: bool = True) -> VerifyReport:
    """Run ``artifact`` on ``spikes`` (batch, T, n_in) in Lava and in the engine; compare.

    Spikes of every LIF population are compared at every step, and ``u`` and
    ``v`` too with ``check_states``. A target stock Lava does not implement is
    refused first (``lava_export.check_lava_target``).
    """
    net = checked_network(artifact)
    lava = run_lava(artifact, spikes, record_states=check_states)
    engine = run_artifact(artifact, spikes, record_states=check_states)
    variables = VARIABLES if check_states else ("spikes",)
    populations = tuple(net.lifs)
    difference = compare_results(lava, engine, populations, variables)
    batch, steps = np.shape(spikes)[:2]
    return VerifyReport(difference is None, int(steps), int(batch), populations, variables,
                        difference)
