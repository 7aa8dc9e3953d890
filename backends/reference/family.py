"""The ``reference`` family's one registration: the float graph itself, no hardware."""

from __future__ import annotations

from neurocc.backends.family import Family

FAMILY = Family(
    name="reference",
    description="float reference: the graph's own semantics, no quantization, no mapping",
    compile="neurocc.backends.reference:compile_reference",
    exact_engine="neurocc.sim.reference:run_artifact",
    demo_target="reference",
    lowering=("reference.resources",),
)
