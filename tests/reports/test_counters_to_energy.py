"""Counters to energy: a hand-sized network whose event counts are known gives, on every
registered family, the energy per inference computed by hand from its target file.

The network: one input neuron feeding two LIF neurons (weight 30, threshold 1, tau 10 ms,
dt 1 ms: v jumps to 3 on an input spike, so each input spike makes both fire in that step
and reset to 0). Input spikes at steps 0 and 4 of 8, one sample. Hence, from the shared
counter vocabulary's definitions: 2 input spikes, 4 spikes, 4 synaptic operations (2 input
spikes x fan-out 2), 16 neuron updates (2 neurons x 8 steps), 8 steps, 2 packets (spikes of
neurons with a synapse: the input's), no hop (two cores on one tile or chip), 2 spike
messages (one per input spike to the one destination core). A Loihi neuron is active in the
step an input arrives and in the next (the lif's current, left in u, decays to 0 within one
step), so 2 x 2 x 2 = 8 active updates. On a crossbar the 2 x 1 weight fits one array: it is
read in the 2 steps with an input spike (6 reads skipped), each read drives 1 row, converts
2 columns (one weight slice, the default) and conducts 1 row x 4 devices (a differential
pair per column); both weights take the top level, so the programmed devices' mean
conductance is (g_min + g_max) / 2.

The expected energy of each family is written out below from the numbers of the family's
target file, read here with yaml (not through the code under test). A family registered
later without an entry here still gets the counts and the report's arithmetic checked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

import neurocc
from neurocc.backends.family import FAMILIES, register_family, unregister_family
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.report import simulation_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import toyfamily

DT_S, STEPS = 1e-3, 8
COUNTS = {"input_spikes": 2, "spikes": 4, "synops": 4, "neuron_updates": 16, "steps": 8,
          "packets": 2}
MAPPED = {  # counts that depend on placement and engine: the families written out here
    "loihi": {"spike_messages": 2, "hops_eastwest": 0, "hops_northsouth": 0,
              "neuron_updates_active": 8},
    "crossbar": {"array_reads": 2, "tiles_skipped": 6, "dac_drives": 2, "conversions": 4,
                 "cell_reads": 8}}
CORES = 2  # one per population


def figures(path: Path) -> dict[str, float]:
    """Every {value: ...} entry of a target file by key."""
    data = yaml.safe_load(path.read_text())
    return {key: entry["value"] for section in data.values() if isinstance(section, dict)
            for key, entry in section.items() if isinstance(entry, dict)}


def loihi_pj(f: dict[str, float]) -> float:
    active, inactive = 8, 16 - 8
    return (4 * f["energy_per_synop_pj"] + active * f["energy_per_neuron_update_active_pj"]
            + inactive * f["energy_per_neuron_update_inactive_pj"]
            + 2 * f["energy_per_spike_within_tile_pj"] + 8 * f["energy_per_barrier_sync_pj"])


def spinnaker_pj(f: dict[str, float]) -> float:
    tick_j = DT_S  # every step is one real-time tick of dt: power x dt is energy
    watts = f["power_idle_chip_w"] * 1 + f["power_active_core_w"] * CORES
    return 8 * watts * tick_j * 1e12 + 2 * f["energy_per_packet_pj"]


def crossbar_pj(f: dict[str, float]) -> float:
    g_mean_s = (f["g_min_us"] + f["g_max_us"]) / 2 * 1e-6
    cell_pj = f["v_read_v"] ** 2 * g_mean_s * f["time_per_array_read_ns"] * 1e-9 * 1e12
    return (2 * f["energy_per_array_read_pj"] + 8 * cell_pj + 4 * f["energy_per_conversion_pj"]
            + 2 * f["energy_per_dac_drive_pj"] + 16 * f["energy_per_neuron_update_pj"])


def toy_pj(f: dict[str, float]) -> float:
    return 4 * f["energy_per_synop_pj"] + 16 * f["energy_per_neuron_update_pj"]


EXPECTED: dict[str, Callable[[dict[str, float]], float]] = {
    "loihi": loihi_pj, "spinnaker": spinnaker_pj, "crossbar": crossbar_pj, "toy": toy_pj}
NAMES = [*sorted(FAMILIES), toyfamily.FAMILY.name]


@pytest.fixture(autouse=True)
def toy_registered() -> Iterator[None]:
    register_family(toyfamily.FAMILY)
    yield
    unregister_family(toyfamily.FAMILY.name)


def hand_network() -> Graph:
    pops = {"in": Population("in", "input", (1,)),
            "a": Population("a", "lif", (2,), {"tau_s": np.full(2, 0.01),
                                               "v_threshold": np.ones(2)}, "to_value")}
    weight = Projection("w", "in", "a", np.array([[30.0], [30.0]]))
    return Graph(DT_S, pops, {"w": weight}, ("in",), ("a",))


@pytest.mark.parametrize("name", NAMES)
def test_hand_network_energy_to_the_pj(name: str) -> None:
    family = FAMILIES[name]
    assert family.demo_target is not None
    artifact = neurocc.compile(hand_network(), family.demo_target)
    spikes = np.zeros((1, STEPS, 1), dtype=np.uint8)
    spikes[0, [0, 4], 0] = 1
    if family.exact_engine is None:
        pytest.skip(f"family '{name}' has no exact engine to count events")
    result = neurocc.simulate(artifact, spikes, engine="exact")
    report = simulation_report(artifact, result, n_inferences=1)
    for counter, count in {**COUNTS, **MAPPED.get(name, {})}.items():
        if counter in result.counters:
            assert result.counters[counter] == count, counter
    energy = report["energy"]
    if family.energy_model is None:
        assert energy is None
        return
    assert energy["missing_counters"] == []
    terms = energy["breakdown"].values()
    assert energy["energy_per_inference_pj"] == pytest.approx(
        sum(t["count_per_inference"] * t["energy_per_op_pj"] for t in terms))
    if name in EXPECTED:
        target_file = family.targets_dir / f"{family.demo_target}.yaml"
        expected = EXPECTED[name](figures(target_file))
        assert abs(energy["energy_per_inference_pj"] - expected) < 0.5  # to the pJ
