"""Read a Loihi-family artifact into the checked integer network (docs/loihi-artifact.md).

Both the exact engine and the Lava export start from :func:`read_network`, so
they see the same populations, projections, parameters and target. The
section's layout is read by ``neurocc.backends.loihi.section`` (presence,
shapes, structure, the stored target); here every value is checked against
the range the artifact's target sets, read from the same
:class:`~neurocc.sim.loihi.fixed_point.Arithmetic` the engine computes with.
A value out of range is a :class:`SimulationError` naming the key, the value,
the range and the target key behind it. Weight mantissas are not
range-checked: Lava clips and truncates them itself, and the engine mirrors
that (see ``fixed_point.effective_weights``).
"""

from __future__ import annotations

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.section import (
    NetworkSpec,
    delay_key,
    pop_key,
    proj_key,
    read_section,
)
from neurocc.backends.loihi.spec import dotted
from neurocc.compiler.errors import SimulationError
from neurocc.sim.loihi.fixed_point import Arithmetic, arithmetic_of

MIN_NUM_WEIGHT_BITS = 1  # truncate_weights keeps at least one bit

# (low, high, the target keys that set them) for a field, from the target's arithmetic
Range = tuple[int, int, str]


def lif_ranges(a: Arithmetic) -> dict[str, Range]:
    """The range of each LIF parameter under arithmetic ``a``."""
    return {"du": (0, a.du_max, dotted("du_bits")), "dv": (0, a.dv_max, dotted("dv_bits")),
            "vth": (0, a.vth_max, dotted("vth_bits")),
            "bias_mant": (a.bias_mant_min, a.bias_mant_max, dotted("bias_mant_bits")),
            "bias_exp": (a.bias_exp_min, a.bias_exp_max,
                         f"{dotted('bias_exp_min')}, {dotted('bias_exp_max')}")}


def projection_ranges(a: Arithmetic) -> dict[str, Range]:
    """The range of each projection parameter under arithmetic ``a``."""
    return {"weight_exp": (a.weight_exp_min, a.weight_exp_max,
                           f"{dotted('weight_exp_min')}, {dotted('weight_exp_max')}"),
            "num_weight_bits": (MIN_NUM_WEIGHT_BITS, a.weight_bits, dotted("weight_bits")),
            "delay": (0, a.delay_max_steps, dotted("delay_max_steps"))}


def _check_range(key: str, value: np.ndarray | int, limits: Range, target: str) -> None:
    low, high, keys = limits
    array = np.asarray(value)
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        bad = int(array.min()) if int(array.min()) < low else int(array.max())
        raise SimulationError(f"artifact array '{key}'", f"holds {bad}, outside [{low}, "
                              f"{high}], the range target '{target}' sets ({keys}).",
                              "Compile the model again for this target; the quantize pass "
                              "keeps every parameter within the target's ranges.")


def check_ranges(net: NetworkSpec, arith: Arithmetic) -> None:
    """Every LIF and projection parameter of ``net`` within ``arith``'s ranges."""
    lif_limits, proj_limits = lif_ranges(arith), projection_ranges(arith)
    for lif in net.lifs.values():
        for field, limits in lif_limits.items():
            _check_range(pop_key(lif.name, field), getattr(lif, field), limits, net.target.name)
    for proj in net.projections.values():
        for field, limits in proj_limits.items():
            key = delay_key(proj) if field == "delay" else proj_key(proj.name, field)
            _check_range(key, getattr(proj, field), limits, net.target.name)


def read_network(artifact: Artifact) -> NetworkSpec:
    """The checked integer network of ``artifact`` (a Loihi-family artifact)."""
    net = read_section(artifact)
    check_ranges(net, arithmetic_of(net.target))
    return net
