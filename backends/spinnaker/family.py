"""The SpiNNaker family's one registration: sPyNNaker-style s16.15 cores (``docs/spinnaker.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from neurocc.backends.family import Family
from neurocc.backends.spinnaker.quantize import MODELS
from neurocc.backends.spinnaker.section import SECTION
from neurocc.backends.spinnaker.spec import SCHEMA, TARGETS_DIR


@dataclass(frozen=True)
class SpinnakerOptions:
    """Compile options of the SpiNNaker family."""

    rounding: Literal["floor", "nearest"] = field(default="floor", metadata={
        "help": "how the engine rounds fixed-point products: 'floor' truncates as sPyNNaker's "
                "mainline LIF does (ARM smull >> 15), 'nearest' as its round-to-nearest branch"})
    mapping: Literal["traffic", "sequential"] = field(default="traffic", metadata={
        "help": "how neurons go to cores and cores to chips: 'traffic' partitions each "
                "population with a hypergraph partitioner (Mt-KaHyPar) to minimise multicast "
                "traffic and places the cores to minimise spike-hops; 'sequential' is "
                "PACMAN's baseline (contiguous slices, chips in order)"})


FAMILY = Family(
    name="spinnaker",
    description="SpiNNaker-style many-core chips: sPyNNaker's s16.15 LIF and ring buffers",
    compile="neurocc.backends.spinnaker.compile:compile_spinnaker",
    options=SpinnakerOptions,
    schema=SCHEMA,
    targets_dir=TARGETS_DIR,
    exact_engine="neurocc.sim.spinnaker:run_artifact",
    energy_model="neurocc.backends.spinnaker.energy:energy_for_artifact",
    sections=(SECTION,),
    lowering=("spinnaker.quantize", "spinnaker.map", "spinnaker.route"),
    models=MODELS,
    demo_target="spinnaker2",
)
