"""Hardware facts are data: no stray numeric constants in the SpiNNaker backend or engine."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import neurocc.backends.spinnaker as spinnaker
import neurocc.sim.spinnaker as engine

_CHECKER = Path(__file__).parents[1] / "loihi" / "test_loihi_constants.py"
_spec = importlib.util.spec_from_file_location("loihi_constants_checker", _CHECKER)
assert _spec is not None and _spec.loader is not None
checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checker)

# named constants that are unit conversions or storage widths, not hardware numbers
ALLOWED_NAMES = {"PJ_PER_J", "NS_PER_S", "RING_SLOT_BYTES", "SECTIONS"}  # SECTIONS: key floors
# chip_math.py: the constants of spinn_common's exp algorithm and of the s16.15 / u0.32 words it
# computes in (software, not hardware limits; quantize checks the target's format against them)
ALLOWED_NAMES |= {"FRACTION_BITS", "WORD_BITS", "WORD_MASK", "INT32_MAX", "ONE_ULR",
                  "EXP_MIN_BITS", "EXP_MAX_BITS", "EXP_Z_MIN", "EXP_Z_COUNT", "MID_COUNT",
                  "MID_SHIFT", "LOW_MASK", "SERIES", "EXPM1_MID", "MS_PER_S", "TABLE_DIGITS"}
ALLOWED_NAMES |= {"RANDOM_BITS"}  # engine: round.h draws one 32-bit word per product
ALLOWED_NAMES |= {"SEED", "EPSILON"}  # partition.py: the partitioner's seed and imbalance
ALLOWED_NAMES |= {"TRAFFIC_MAX_SYNAPSES"}  # mapping.py: mapping=auto's compile-cost policy
# kernels.py: the width of a uint64 bit-set word, and two markers of a tree walk
ALLOWED_NAMES |= {"LANE_BITS", "NOT_IN_TREE", "SOURCE_CHIP"}


def _offenders(package: object) -> tuple[dict[str, list], dict[str, set[str]]]:
    files = sorted(Path(package.__file__).parent.glob("*.py"))  # type: ignore[attr-defined]
    stray = {f.name: checker.stray_numbers(f.read_text()) for f in files}
    named = {f.name: checker.numeric_constants(f.read_text()) - ALLOWED_NAMES for f in files}
    return {k: v for k, v in stray.items() if v}, {k: v for k, v in named.items() if v}


def test_backend_and_engine_have_no_stray_numbers() -> None:
    for package in (spinnaker, engine):
        assert _offenders(package) == ({}, {})
