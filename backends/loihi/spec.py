"""Loihi target files: load, validate, and freeze them into a :class:`LoihiSpec`.

A target file is YAML with the header keys ``name``, ``family: loihi`` and
``description``, then the sections of :data:`SCHEMA`. Every number is an entry
``{value: NUMBER, source: TEXT}`` with optional ``bound`` (``minimum`` or
``maximum``: the source states a bound), ``status`` (``single-source``,
``assumed``, ``derived``, ``not-published``) and ``note``. The key names carry
the unit (``energy_per_synop_pj``, ``delay_max_steps``).

Anything malformed (a missing or unknown key, a wrong type, a negative limit,
a mesh whose tiles do not hold the chip's cores) raises a
:class:`~neurocc.compiler.errors.TargetError` naming the file, the key and
what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurocc.compiler.errors import TargetError

TARGETS_DIR = Path(__file__).parent / "targets"
HEADER_KEYS = ("name", "family", "description")
FAMILY = "loihi"
BOUNDS = ("minimum", "maximum")
STATUSES = ("single-source", "assumed", "derived", "not-published")
ENTRY_KEYS = ("value", "source", "bound", "status", "note")

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
               "du_offset": (int, 0), "decay_shift_bits": (int, 1), "vth_bits": (int, 1),
               "vth_shift_bits": (int, 0), "act_shift_bits": (int, 0),
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


@dataclass(frozen=True)
class Entry:
    """One number of a target file with its provenance."""

    value: float
    source: str
    bound: str | None = None
    status: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LoihiSpec:
    """A validated Loihi target: every entry of :data:`SCHEMA` as an attribute.

    Read numbers as ``spec.neurons_per_core`` (the value) and their provenance
    as ``spec.entries["neurons_per_core"]``.
    """

    name: str
    description: str
    path: str
    entries: Mapping[str, Entry] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        entries = object.__getattribute__(self, "entries")
        if key in entries:
            return entries[key].value
        raise AttributeError(key)

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

    def to_dict(self) -> dict[str, Any]:
        """The target file's content (header and sections), JSON-able."""
        data: dict[str, Any] = {"name": self.name, "family": FAMILY,
                                "description": self.description}
        for section, keys in SCHEMA.items():
            data[section] = {key: {k: v for k, v in dataclasses.asdict(self.entries[key]).items()
                                   if v is not None} for key in keys}
        return data


def _fail(path: str, key: str, expected: str) -> TargetError:
    return TargetError(f"{path}: key '{key}'", expected,
                       "Compare with a packaged target file (`neurocc targets`).")


def _entry(path: str, key: str, raw: Any, kind: type, lowest: float | None) -> Entry:
    if not isinstance(raw, Mapping) or "value" not in raw or "source" not in raw:
        raise _fail(path, key, "expected a mapping {value: NUMBER, source: TEXT}, got "
                    f"{raw!r}.")
    unknown = sorted(set(raw) - set(ENTRY_KEYS))
    if unknown:
        raise _fail(path, key, f"has unknown field(s) {unknown}; allowed: {list(ENTRY_KEYS)}.")
    value = raw["value"]
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise _fail(path, key, f"expected {'an integer' if kind is int else 'a number'}, got "
                    f"{value!r}.")
    if lowest is not None and value < lowest:
        raise _fail(path, key, f"expected a value >= {lowest:g}, got {value!r}.")
    if not isinstance(raw["source"], str) or not raw["source"].strip():
        raise _fail(path, key, "expected a non-empty 'source' string saying where the number "
                    "comes from.")
    for name, allowed_values in (("bound", BOUNDS), ("status", STATUSES)):
        if raw.get(name) is not None and raw[name] not in allowed_values:
            raise _fail(path, key, f"field '{name}' is {raw[name]!r}; expected one of "
                        f"{list(allowed_values)}.")
    return Entry(kind(value), raw["source"], raw.get("bound"), raw.get("status"), raw.get("note"))


def _check_header(path: str, data: Mapping[str, Any]) -> None:
    for key in HEADER_KEYS:
        if not isinstance(data.get(key), str):
            raise _fail(path, key, "expected a string header key.")
    if data["family"] != FAMILY:
        raise _fail(path, "family", f"expected '{FAMILY}', got {data['family']!r}.")
    unknown = sorted(set(data) - set(HEADER_KEYS) - set(SCHEMA))
    if unknown:
        raise _fail(path, unknown[0], f"is not a known key; expected the header "
                    f"{list(HEADER_KEYS)} and the sections {list(SCHEMA)}.")


def _check_section(path: str, section: str, raw: Any) -> dict[str, Entry]:
    if not isinstance(raw, Mapping):
        raise _fail(path, section, f"expected a mapping of entries, got {raw!r}.")
    keys = SCHEMA[section]
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise _fail(path, f"{section}.{unknown[0]}", f"is not a known key; section "
                    f"'{section}' takes {list(keys)}.")
    missing = [k for k in keys if k not in raw]
    if missing:
        raise _fail(path, f"{section}.{missing[0]}", "is missing.")
    return {key: _entry(path, f"{section}.{key}", raw[key], kind, lowest)
            for key, (kind, lowest) in keys.items()}


def _check_consistency(path: str, spec: LoihiSpec) -> None:
    tiles_cores = spec.cores_per_tile * spec.tiles_x * spec.tiles_y
    if tiles_cores != spec.cores_per_chip:
        raise _fail(path, "mesh.cores_per_chip", f"expected cores_per_tile x tiles_x x tiles_y "
                    f"= {tiles_cores}, got {spec.cores_per_chip}.")
    for low, high in (("weight_exp_min", "weight_exp_max"), ("bias_exp_min", "bias_exp_max"),
                      ("barrier_fewest_tiles", "barrier_most_tiles")):
        if getattr(spec, low) > getattr(spec, high):
            raise _fail(path, high, f"expected a value >= {low} ({getattr(spec, low)}), got "
                        f"{getattr(spec, high)}.")
    if spec.weight_bits > spec.weight_clip_bits:
        raise _fail(path, "synapse.weight_bits", f"expected at most weight_clip_bits "
                    f"({spec.weight_clip_bits}), got {spec.weight_bits}.")


def spec_from_mapping(data: Any, path: str = "<target>") -> LoihiSpec:
    """A validated spec from parsed target-file content (``path`` names it in errors)."""
    if not isinstance(data, Mapping):
        raise TargetError(path, f"expected a mapping at the top, got {type(data).__name__}.",
                          "Start from a packaged target file (`neurocc targets`).")
    _check_header(path, data)
    entries: dict[str, Entry] = {}
    for section in SCHEMA:
        if section not in data:
            raise _fail(path, section, "is missing (a section of the target file).")
        entries.update(_check_section(path, section, data[section]))
    spec = LoihiSpec(data["name"], data["description"], path, entries)
    _check_consistency(path, spec)
    return spec


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
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TargetError(str(path), f"cannot be read as YAML ({exc}).",
                          "Fix the file or copy a packaged target again.") from exc
    return spec_from_mapping(data, str(path))
