"""The crossbar family's one registration: resistive-memory arrays (``docs/crossbar.md``)."""

from __future__ import annotations

from neurocc.backends.crossbar.options import CrossbarEngineOptions, CrossbarOptions
from neurocc.backends.crossbar.section import MODELS, SECTION
from neurocc.backends.crossbar.spec import SCHEMA, TARGETS_DIR
from neurocc.backends.family import Family

FAMILY = Family(
    name="crossbar",
    description="resistive-memory crossbars (RRAM, PCM): weights as conductance pairs, analog "
                "reads with device noise and converters, digital neurons",
    compile="neurocc.backends.crossbar.compile:compile_crossbar",
    options=CrossbarOptions,
    schema=SCHEMA,
    targets_dir=TARGETS_DIR,
    exact_engine="neurocc.sim.crossbar:run_artifact",
    energy_model="neurocc.backends.crossbar.energy:energy_for_artifact",
    sections=(SECTION,),
    lowering=("crossbar.quantize", "crossbar.map"),
    models=MODELS,
    demo_target="rram256k",
    engine_options=CrossbarEngineOptions,
    device_seeds=5,
    demo_resource="tiles",
)
