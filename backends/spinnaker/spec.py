"""The SpiNNaker family's target schema: sections, keys and the rules that span keys."""

from __future__ import annotations

from pathlib import Path

from neurocc.backends.targets import TargetSchema, TargetSpec, key_error

TARGETS_DIR = Path(__file__).parent / "targets"

# section -> key -> (type, lowest allowed value); `int` keys are counts, bit widths or bytes
SECTIONS: dict[str, dict[str, tuple[type, float | None]]] = {
    "mesh": {"chips_x": (int, 1), "chips_y": (int, 1), "cores_per_chip": (int, 1),
             "router_entries_per_chip": (int, 1), "links_per_chip": (int, 4),
             "key_bits": (int, 1)},
    "core": {"neurons_per_core": (int, 1), "dtcm_per_core_bytes": (int, 1),
             "sdram_per_chip_bytes": (int, 1), "ring_buffer_bits": (int, 2),
             "delay_min_steps": (int, 1), "delay_max_on_core_steps": (int, 1),
             "delay_extension_slots": (int, 1), "synapse_word_bytes": (int, 1),
             "row_header_words": (int, 0)},
    "format": {"weight_bits": (int, 1), "fraction_bits": (int, 1), "state_bits": (int, 2),
               "decay_bits": (int, 1), "gate_table_step_bits": (int, 0),
               "gate_table_range": (int, 1)},
    "energy": {"power_idle_chip_w": (float, 0), "power_active_core_w": (float, 0),
               "energy_per_packet_pj": (float, 0), "time_per_packet_ns": (float, 0),
               "energy_per_payload_packet_pj": (float, 0)},
}


def _check(path: str, spec: TargetSpec) -> None:
    """The s16.15 state must hold its fraction bits and a sign; weights fit the state word."""
    if spec.fraction_bits >= spec.state_bits:
        raise key_error(path, "format.fraction_bits", f"fewer than state_bits = "
                        f"{spec.state_bits} (a signed fixed-point word needs integer bits).")
    if spec.weight_bits >= spec.state_bits:
        raise key_error(path, "format.weight_bits", f"fewer than state_bits = "
                        f"{spec.state_bits} (a ring-buffer slot is shifted into the state).")
    if spec.delay_max_on_core_steps < spec.delay_min_steps:
        raise key_error(path, "core.delay_max_on_core_steps", f"at least delay_min_steps = "
                        f"{spec.delay_min_steps} (the ring buffer holds the shortest delay).")
    if spec.gate_table_step_bits > spec.fraction_bits:
        raise key_error(path, "format.gate_table_step_bits", f"at most fraction_bits = "
                        f"{spec.fraction_bits} (the table step is a power of two of the LSB).")
    if spec.weight_bits > spec.fraction_bits + 1:
        raise key_error(path, "format.weight_bits", f"at most fraction_bits + 1 = "
                        f"{spec.fraction_bits + 1} (a slot's top bit lines up with 2**r).")
    if spec.links_per_chip % 2:
        raise key_error(path, "mesh.links_per_chip", "even (every link has an opposite one, "
                        "which default routing sends a packet out of).")


SCHEMA = TargetSchema(SECTIONS, check=_check)
