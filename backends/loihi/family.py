"""The Loihi family's one registration: Lava-style fixed-point cores (``docs/loihi.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from neurocc.backends.family import Family, Tool
from neurocc.backends.loihi.quantize import LIF_MODELS
from neurocc.backends.loihi.spec import TARGET_SCHEMA, TARGETS_DIR


@dataclass(frozen=True)
class LoihiOptions:
    """Compile options of the Loihi family."""

    reset_policy: Literal["error", "approximate"] = field(default="error", metadata={
        "help": "what to do with a reset the chip lacks (Lava resets v to 0): 'error' stops, "
                "'approximate' maps it and records the difference"})
    calibration_spikes: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes (batch, T, n_in); voltage scales are sized from the "
                "ranges the float reference reaches on them instead of the worst case"})
    weight_scaling: Literal["max", "calibrated"] = field(default="max", metadata={
        "help": "weight exponent per projection: 'max' fits the largest weight, 'calibrated' "
                "minimizes the squared error weighted by the sources' activity on "
                "calibration_spikes (clipping the largest weights where that helps)"})
    progress: bool = field(default=False, metadata={"record": False,
        "help": "a progress bar over the compile stages (quantize, timing, map, section); "
                "worth it from about a million synapses"})


@dataclass(frozen=True)
class LoihiEngineOptions:
    """Options of one run of the exact Loihi engine (``neurocc.sim.loihi``); none changes the
    results."""

    device: Literal["cpu", "cuda", "auto", "torch-cpu"] = field(default="cpu", metadata={
        "help": "where the synaptic products run: 'cpu' (numpy and compiled kernels), 'cuda' "
                "(PyTorch on the GPU; an error without one), 'auto' (CUDA when PyTorch sees a "
                "GPU, else the CPU), 'torch-cpu' (the PyTorch code on the CPU); the LIF "
                "update stays on the CPU and the results are identical on every device"})


FAMILY = Family(
    name="loihi",
    description="Loihi-style many-core chips: Lava's fixed-point CUBA LIF and Dense models",
    compile="neurocc.backends.loihi.compile:compile_loihi",
    options=LoihiOptions,
    schema=TARGET_SCHEMA,
    targets_dir=TARGETS_DIR,
    exact_engine="neurocc.sim.loihi:run_artifact",
    engine_options=LoihiEngineOptions,
    energy_model="neurocc.backends.loihi.energy:energy_for_artifact",
    exporters={"lava": Tool("neurocc.backends.loihi.lava_export:write_lava_script",
                            "a standalone Lava script (stock processes, fixed_pt) and its "
                            "parameters")},
    verifiers={"lava": Tool("neurocc.backends.loihi.verify:verify_against_lava",
                            "run the artifact in Lava (fixed_pt) and in the exact engine; "
                            "compare u, v and spikes")},
    sections=("loihi",),
    demo_target="loihi2",
    lowering=("loihi.quantize", "loihi.timing", "loihi.map"),
    models=LIF_MODELS,
)
