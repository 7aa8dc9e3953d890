"""The crossbar family's target schema: sections, keys, device kinds and cross-key rules.

Sections: ``array`` (geometry, conductance range and levels, read voltage, wire resistance),
``converters`` (DAC and ADC), ``device`` (the statistical device model, dispatched on
``device.kind``: see ``neurocc.sim.crossbar.devices``) and ``energy``. Keys are unique over
the whole file (a spec reads them flat: ``spec.g_max_us``).
"""

from __future__ import annotations

from pathlib import Path

from neurocc.backends.targets import TargetSchema, TargetSpec, key_error

TARGETS_DIR = Path(__file__).parent / "targets"
DEVICE_KINDS = ("rram", "pcm")

# Keys only one device kind reads; a file of that kind must give them.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "pcm": ("read_noise_exponent", "read_time_ns"),
    "rram": ("switching_set_mean_us", "switching_set_std_us", "switching_reset_mean_us",
             "switching_reset_std_us"),
}

# section -> key -> (type, lowest allowed value, or the allowed words of a str key)
SECTIONS: dict[str, dict[str, tuple[type, object]]] = {
    "array": {"rows": (int, 1), "cols": (int, 2), "tiles_per_chip": (int, 1),
              "levels": (int, 2), "g_max_us": (float, 0), "g_min_us": (float, 0),
              "v_read_v": (float, 0), "line_resistance_ohm": (float, 0)},
    "converters": {"dac_bits": (int, 1), "adc_bits": (int, 2), "adc_range_cells": (float, 0)},
    "device": {"kind": (str, DEVICE_KINDS),
               "prog_noise_c0_us": (float, None), "prog_noise_c1_us": (float, None),
               "prog_noise_c2_us": (float, None), "prog_noise_c3_us": (float, None),
               "d2d_variation": (float, 0), "stuck_on_rate": (float, 0),
               "stuck_off_rate": (float, 0),
               "read_noise_q0": (float, 0), "read_noise_q_max": (float, 0),
               "read_noise_exponent": (float, 0), "read_time_ns": (float, 0),
               "drift_t0_s": (float, 0),
               "drift_nu_mean_slope": (float, None), "drift_nu_mean_offset": (float, None),
               "drift_nu_mean_min": (float, 0), "drift_nu_mean_max": (float, 0),
               "drift_nu_std_slope": (float, None), "drift_nu_std_offset": (float, None),
               "drift_nu_std_min": (float, 0), "drift_nu_std_max": (float, 0),
               "switching_set_mean_us": (float, 0), "switching_set_std_us": (float, 0),
               "switching_reset_mean_us": (float, 0), "switching_reset_std_us": (float, 0)},
    "energy": {"energy_per_array_read_pj": (float, 0), "time_per_array_read_ns": (float, 0),
               "energy_per_conversion_pj": (float, 0), "time_per_conversion_ns": (float, 0),
               "energy_per_dac_drive_pj": (float, 0), "time_per_dac_drive_ns": (float, 0),
               "energy_per_neuron_update_pj": (float, 0),
               "time_per_neuron_update_ns": (float, 0)},
}


def _check(path: str, spec: TargetSpec) -> None:
    """Range, rates and the keys of the device kind."""
    if spec.g_min_us >= spec.g_max_us:
        raise key_error(path, "array.g_min_us", f"below g_max_us = {spec.g_max_us} (a device "
                        "needs a conductance range to hold a weight).")
    if spec.cols % 2:
        raise key_error(path, "array.cols", "even (a signed weight takes a differential pair "
                        "of columns, G+ and G-).")
    if spec.stuck_on_rate + spec.stuck_off_rate > 1:
        raise key_error(path, "device.stuck_on_rate", "stuck_on_rate + stuck_off_rate <= 1 "
                        "(they are fractions of the devices).")
    for key in ("drift_nu_mean", "drift_nu_std"):
        if getattr(spec, f"{key}_min") > getattr(spec, f"{key}_max"):
            raise key_error(path, f"device.{key}_min", f"<= {key}_max.")
    for kind, keys in KIND_KEYS.items():
        for key in keys:
            if kind == spec.kind and key not in spec.entries:
                raise key_error(path, f"device.{key}", f"is missing (device kind '{kind}' "
                                "reads it).")
            if kind != spec.kind and key in spec.entries:
                raise key_error(path, f"device.{key}", f"is a key of device kind '{kind}', "
                                f"not of '{spec.kind}'; remove it.")


SCHEMA = TargetSchema(SECTIONS, check=_check,
                      optional=frozenset(k for keys in KIND_KEYS.values() for k in keys))
