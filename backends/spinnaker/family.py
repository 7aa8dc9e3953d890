"""The SpiNNaker family's one registration: sPyNNaker-style s16.15 cores (``docs/spinnaker.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from neurocc.backends.family import Family, Tool
from neurocc.backends.spinnaker.graded import GRADED_MODELS
from neurocc.backends.spinnaker.mapping import TRAFFIC_MAX_SYNAPSES
from neurocc.backends.spinnaker.quantize import MODELS
from neurocc.backends.spinnaker.section import SECTION
from neurocc.backends.spinnaker.spec import SCHEMA, TARGETS_DIR


@dataclass(frozen=True)
class SpinnakerOptions:
    """Compile options of the SpiNNaker family."""

    rounding: Literal["floor", "nearest", "stochastic"] = field(default="floor", metadata={
        "help": "how the engine rounds fixed-point products: 'floor' truncates as sPyNNaker's "
                "mainline LIF does (ARM smull >> 15), 'nearest' as its round-to-nearest branch, "
                "'stochastic' as spinn_common's round.h (up with probability dropped/2**n)"})
    rounding_seed: int = field(default=0, metadata={
        "help": "seed of the random words of rounding=stochastic (same seed, same run)"})
    weight_scaling: Literal["max", "calibrated"] = field(default="max", metadata={
        "help": "ring-buffer shifts: 'max' from the worst-case slot sum (every source at "
                "once), 'calibrated' from the largest sum seen on calibration_spikes"})
    calibration_spikes: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes (batch, T, n_in) for calibrated weight scaling"})
    mapping: Literal["auto", "traffic", "sequential"] = field(default="auto", metadata={
        "help": "how neurons go to cores and cores to chips: 'traffic' partitions each "
                "population with a hypergraph partitioner (Mt-KaHyPar) to minimise multicast "
                "traffic and places the cores to minimise spike-hops; 'sequential' is "
                "PACMAN's baseline (contiguous slices, chips in order); 'auto' is traffic up "
                "to traffic_max_synapses, sequential above (the record says which ran)"})
    traffic_max_synapses: int = field(default=TRAFFIC_MAX_SYNAPSES, metadata={
        "help": "largest network (synapses) mapping=auto partitions by traffic: the "
                "partitioner costs about 5-120 us of CPU per synapse, against 0.1 for "
                "sequential (benchmarks/mapping.py)"})
    progress: bool = field(default=False, metadata={"record": False,
        "help": "a progress bar over the compile stages (synapse tables, quantize, partition, "
                "sections, delay extensions, routing, layout); worth it from about ten "
                "million synapses"})


FAMILY = Family(
    name="spinnaker",
    description="SpiNNaker-style many-core chips: sPyNNaker's s16.15 LIF and ring buffers",
    compile="neurocc.backends.spinnaker.compile:compile_spinnaker",
    options=SpinnakerOptions,
    schema=SCHEMA,
    targets_dir=TARGETS_DIR,
    exact_engine="neurocc.sim.spinnaker:run_artifact",
    energy_model="neurocc.backends.spinnaker.energy:energy_for_artifact",
    exporters={"pynn": Tool("neurocc.backends.spinnaker.pynn_export:write_pynn_script",
                            "a standalone PyNN script (IF_curr_exp / IF_curr_delta, dequantized "
                            "words) for sPyNNaker or pyNN.brian2, and its parameters")},
    sections=(SECTION,),
    lowering=("spinnaker.quantize", "spinnaker.map", "spinnaker.route"),
    models=MODELS + GRADED_MODELS,
    demo_target="spinnaker2",
)
