"""Loihi-family targets: target files, quantization to Lava's fixed-point formats, mapping
onto cores and tiles, and the energy model (``docs/loihi-artifact.md``)."""

from neurocc.backends.loihi.compile import compile_loihi
from neurocc.backends.loihi.energy import energy_for_artifact, energy_report
from neurocc.backends.loihi.spec import LoihiSpec, load_loihi_target

__all__ = ["LoihiSpec", "compile_loihi", "energy_for_artifact", "energy_report",
           "load_loihi_target"]
