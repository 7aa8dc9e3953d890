"""The Loihi family's target schema: its sections, derived quantities and consistency rules.

Target files are read by the one loader of :mod:`neurocc.backends.targets`
(entries ``{value, source, bound, status, note}``); this module declares what a
``family: loihi`` file holds (:data:`SCHEMA`), what follows from it
(:class:`LoihiSpec` properties) and the rules that span keys (a mesh whose
tiles do not hold the chip's cores, a minimum above its maximum).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from neurocc.backends.targets import (
    TargetSchema,
    TargetSpec,
    check_header,
    key_error,
    parse_target,
    read_yaml,
)
from neurocc.compiler.errors import TargetError

TARGETS_DIR = Path(__file__).parent / "targets"
FAMILY = "loihi"

# section -> key -> (type, lowest allowed value); `int` keys are counts, bit widths or steps
SCHEMA: dict[str, dict[str, tuple[type, float | None]]] = {
    "mesh": {"chips": (int, 1), "cores_per_chip": (int, 1), "cores_per_tile": (int, 1),
             "tiles_x": (int, 1), "tiles_y": (int, 1)},
    "core": {"neurons_per_core": (int, 1), "synapses_per_core": (int, 1),
             "synaptic_memory_per_core_bits": (int, 1), "fan_in_axons_per_core": (int, 1),
             "fan_out_axons_per_core": (int, 1)},
    "synapse": {"weight_bits": (int, 1), "weight_clip_bits": (int, 1),
                "weight_exp_min": (int, None), "weight_exp_max": (int, None),
                "delay_bits": (int, 0), "delay_max_steps": (int, 0)},
    "neuron": {"u_bits": (int, 2), "v_bits": (int, 2), "du_bits": (int, 1), "dv_bits": (int, 1),
               "du_offset": (int, 0), "dv_offset": (int, 0), "decay_shift_bits": (int, 1),
               "vth_bits": (int, 1), "vth_shift_bits": (int, 0), "act_shift_bits": (int, 0),
               "bias_mant_bits": (int, 2), "bias_exp_min": (int, None),
               "bias_exp_max": (int, None)},
    "energy": {"energy_per_synop_pj": (float, 0), "energy_per_neuron_update_active_pj": (float, 0),
               "energy_per_neuron_update_inactive_pj": (float, 0),
               "energy_per_spike_within_tile_pj": (float, 0),
               "energy_per_hop_eastwest_pj": (float, 0),
               "energy_per_hop_northsouth_pj": (float, 0),
               "energy_per_barrier_sync_pj": (float, 0)},
    "latency": {"time_per_synop_ns": (float, 0), "time_per_neuron_update_active_ns": (float, 0),
                "time_per_neuron_update_inactive_ns": (float, 0),
                "time_per_spike_within_tile_ns": (float, 0),
                "time_per_hop_eastwest_ns": (float, 0),
                "time_per_hop_northsouth_ns": (float, 0),
                "time_per_barrier_sync_fewest_tiles_ns": (float, 0),
                "time_per_barrier_sync_most_tiles_ns": (float, 0),
                "barrier_fewest_tiles": (int, 1), "barrier_most_tiles": (int, 1)},
}

# key -> its section, to name a key in messages as the file spells it ("neuron.u_bits")
SECTION_OF = {key: section for section, keys in SCHEMA.items() for key in keys}


def dotted(key: str) -> str:
    """``key`` with its section, as a target file spells it: ``neuron.u_bits``."""
    return f"{SECTION_OF[key]}.{key}"


class LoihiSpec(TargetSpec):
    """A validated Loihi target (see :mod:`neurocc.backends.targets`) with derived quantities."""

    # -- derived quantities (all from the file's numbers) ------------------------------
    @property
    def cores_available(self) -> int:
        return int(self.chips * self.cores_per_chip)

    @property
    def decay_unity(self) -> int:
        return 1 << self.decay_shift_bits

    @property
    def vth_max(self) -> int:
        return (1 << self.vth_bits) - 1

    @property
    def bias_mant_max(self) -> int:
        return (1 << (self.bias_mant_bits - 1)) - 1

    @property
    def bias_mant_min(self) -> int:
        return -(1 << (self.bias_mant_bits - 1))


def _check_consistency(path: str, spec: TargetSpec) -> None:
    tiles_cores = spec.cores_per_tile * spec.tiles_x * spec.tiles_y
    if tiles_cores != spec.cores_per_chip:
        raise key_error(path, "mesh.cores_per_chip", f"expected cores_per_tile x tiles_x x tiles_y "
                    f"= {tiles_cores}, got {spec.cores_per_chip}.")
    for low, high in (("weight_exp_min", "weight_exp_max"), ("bias_exp_min", "bias_exp_max"),
                      ("barrier_fewest_tiles", "barrier_most_tiles")):
        if getattr(spec, low) > getattr(spec, high):
            raise key_error(path, high, f"expected a value >= {low} ({getattr(spec, low)}), got "
                        f"{getattr(spec, high)}.")
    for decay in ("du", "dv"):
        # the largest decay plus its offset is at most 1 (2^decay_shift_bits): no negative keep
        largest = (1 << getattr(spec, f"{decay}_bits")) - 1 + getattr(spec, f"{decay}_offset")
        if largest > spec.decay_unity:
            raise key_error(path, f"neuron.{decay}_bits", f"expected (2^{decay}_bits - 1) + "
                            f"{decay}_offset <= 2^decay_shift_bits ({spec.decay_unity}), got "
                            f"{largest}.")
    if spec.weight_bits > spec.weight_clip_bits:
        raise key_error(path, "synapse.weight_bits", f"expected at most weight_clip_bits "
                    f"({spec.weight_clip_bits}), got {spec.weight_bits}.")


TARGET_SCHEMA = TargetSchema(SCHEMA, LoihiSpec, _check_consistency)


def spec_from_mapping(data: Any, path: str = "<target>") -> LoihiSpec:
    """A validated spec from parsed target-file content (``path`` names it in errors)."""
    family = check_header(path, data)["family"]
    if family != FAMILY:
        raise key_error(path, "family", f"expected '{FAMILY}', got {family!r}.")
    return cast(LoihiSpec, parse_target(data, TARGET_SCHEMA, path))


def packaged_targets() -> list[str]:
    """Names of the target files shipped with neurocc."""
    return sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))


def _resolve(path_or_name: str | Path) -> Path:
    text = str(path_or_name)
    if text in packaged_targets():
        return TARGETS_DIR / f"{text}.yaml"
    path = Path(text)
    if not path.is_file():
        raise TargetError(text, "is neither a packaged Loihi target nor an existing file.",
                          f"Packaged targets: {', '.join(packaged_targets())}.")
    return path


def load_loihi_target(path_or_name: str | Path | LoihiSpec) -> LoihiSpec:
    """The spec of a packaged target (``loihi1``, ``loihi2``) or of a target file."""
    if isinstance(path_or_name, LoihiSpec):
        return path_or_name
    path = _resolve(path_or_name)
    return spec_from_mapping(read_yaml(path), str(path))
