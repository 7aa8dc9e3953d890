"""Shared pieces of the tests that run Lava: import guard, warning filter, comparison."""

from __future__ import annotations

import numpy as np
import pytest

from neurocc.backends.loihi import lava_export
from neurocc.compiler.errors import VerificationError
from neurocc.sim.result import SimResult

# networkx (used by Lava's compiler) warns that pandas is absent; nothing to do about it
LAVA_WARNINGS = pytest.mark.filterwarnings("ignore:pandas not found:ImportWarning")


def require_lava() -> None:
    """Skip the module when Lava cannot be imported here."""
    try:
        lava_export._require_lava()
    except VerificationError as exc:
        pytest.skip(str(exc), allow_module_level=True)


def assert_identical(engine: SimResult, lava: SimResult, check_states: bool = True) -> None:
    """Spikes of every population, and u, v when asked, equal at every step."""
    assert engine.spikes.keys() == lava.spikes.keys()
    for name, spikes in lava.spikes.items():
        np.testing.assert_array_equal(engine.spikes[name], spikes, err_msg=f"spikes/{name}")
        assert engine.spikes[name].dtype == np.uint8
    if check_states:
        assert lava.states and engine.states.keys() == lava.states.keys()
        for key, value in lava.states.items():
            np.testing.assert_array_equal(engine.states[key], value, err_msg=key)
            assert engine.states[key].dtype == np.int64
