"""Target files: one loader and one record for every family.

A target file is YAML with the header keys ``name``, ``family`` and
``description``, then the sections its family declares in a
:class:`TargetSchema`. Every number is an entry ``{value: NUMBER, source:
TEXT}`` with optional ``bound`` (``minimum`` or ``maximum``: the source states a
bound), ``status`` (``single-source``, ``assumed``, ``derived``,
``not-published``) and ``note``. Key names carry the unit
(``energy_per_synop_pj``, ``delay_max_steps``).

The file is read once, here, into a frozen :class:`TargetSpec`; the artifact
stores the resolved spec (``layout["target"]``), and engines, exporters and
energy models read every hardware number from that copy, so an edited target
file changes compile, engine and export together. Anything malformed (a
missing or unknown key, a wrong type, a value below its floor, a family's own
consistency rule) raises a :class:`~neurocc.compiler.errors.TargetError`
naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurocc.compiler.errors import TargetError

HEADER_KEYS = ("name", "family", "description")
NETWORK_KIND = "network"  # the top-level `kind` of a YAML network spec (frontends/yaml)
BOUNDS = ("minimum", "maximum")
STATUSES = ("single-source", "assumed", "derived", "not-published")
ENTRY_KEYS = ("value", "source", "bound", "status", "note")

# section -> key -> (int or float, lowest allowed value or None), or (str, allowed words)
Sections = Mapping[str, Mapping[str, tuple[type, Any]]]


@dataclass(frozen=True)
class Entry:
    """One number of a target file with its provenance."""

    value: float
    source: str
    bound: str | None = None
    status: str | None = None
    note: str | None = None

    def provenance(self) -> dict[str, str]:
        """``source`` plus ``bound`` and ``status`` where the file gives them."""
        return {k: v for k, v in (("source", self.source), ("bound", self.bound),
                                  ("status", self.status)) if v is not None}


@dataclass(frozen=True)
class TargetSpec:
    """A validated target: every entry of its schema, readable as an attribute.

    Read numbers as ``spec.neurons_per_core`` (the value) and their provenance
    as ``spec.entries["neurons_per_core"]``. ``sections`` keeps the file's
    grouping so :meth:`to_dict` writes the same structure back.
    """

    name: str
    family: str
    description: str
    path: str
    entries: Mapping[str, Entry] = field(default_factory=dict)
    sections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        entries = object.__getattribute__(self, "entries")
        if key in entries:
            return entries[key].value
        raise AttributeError(key)

    def facts(self) -> dict[str, Any]:
        """Every entry's value by key: what passes may read about the target (no provenance)."""
        return {key: entry.value for key, entry in self.entries.items()}

    def to_dict(self) -> dict[str, Any]:
        """The target file's content (header and sections), JSON-able."""
        data: dict[str, Any] = {"name": self.name, "family": self.family,
                                "description": self.description}
        for section, keys in self.sections.items():
            data[section] = {key: {k: v for k, v in dataclasses.asdict(self.entries[key]).items()
                                   if v is not None} for key in keys}
        return data


@dataclass(frozen=True)
class TargetSchema:
    """What a family's target files hold: sections of typed keys, a spec type, a check.

    ``check(path, spec)`` raises TargetError for rules that span keys (a mesh
    whose tiles do not hold the chip's cores, a minimum above its maximum).
    A ``str`` key holds a word from its tuple of allowed words (a model kind).
    ``optional`` keys may be left out (a check then says which a file needs,
    for example the keys of one device kind); the spec has only those given.
    """

    sections: Sections
    spec_type: type[TargetSpec] = TargetSpec
    check: Callable[[str, TargetSpec], None] | None = None
    optional: frozenset[str] = frozenset()


def key_error(path: str, key: str, expected: str) -> TargetError:
    """The one error form for a bad key: file, key, what was expected, what to do."""
    return TargetError(f"{path}: key '{key}'", expected,
                       "Compare with a packaged target file (`neurocc targets NAME`).")


def _check_number(path: str, key: str, value: Any, kind: type, lowest: float | None) -> None:
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise key_error(path, key, f"expected {'an integer' if kind is int else 'a number'}, "
                        f"got {value!r}.")
    if lowest is not None and value < lowest:
        raise key_error(path, key, f"expected a value >= {lowest:g}, got {value!r}.")


def _entry(path: str, key: str, raw: Any, kind: type, lowest: Any) -> Entry:
    if not isinstance(raw, Mapping) or "value" not in raw or "source" not in raw:
        raise key_error(path, key, f"expected a mapping {{value: NUMBER, source: TEXT}}, got "
                        f"{raw!r}.")
    unknown = sorted(set(raw) - set(ENTRY_KEYS))
    if unknown:
        raise key_error(path, key, f"has unknown field(s) {unknown}; allowed: "
                        f"{list(ENTRY_KEYS)}.")
    value = raw["value"]
    if kind is str:
        if value not in lowest:
            raise key_error(path, key, f"expected one of {list(lowest)}, got {value!r}.")
    else:
        _check_number(path, key, value, kind, lowest)
    if not isinstance(raw["source"], str) or not raw["source"].strip():
        raise key_error(path, key, "expected a non-empty 'source' string saying where the "
                        "number comes from.")
    for name, allowed_values in (("bound", BOUNDS), ("status", STATUSES)):
        if raw.get(name) is not None and raw[name] not in allowed_values:
            raise key_error(path, key, f"field '{name}' is {raw[name]!r}; expected one of "
                            f"{list(allowed_values)}.")
    return Entry(kind(value), raw["source"], raw.get("bound"), raw.get("status"),
                 raw.get("note"))


def _section(path: str, section: str, raw: Any, keys: Mapping[str, tuple[type, Any]],
             optional: frozenset[str] = frozenset()) -> dict[str, Entry]:
    if not isinstance(raw, Mapping):
        raise key_error(path, section, f"expected a mapping of entries, got {raw!r}.")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise key_error(path, f"{section}.{unknown[0]}", f"is not a known key; section "
                        f"'{section}' takes {list(keys)}.")
    missing = [k for k in keys if k not in raw and k not in optional]
    if missing:
        raise key_error(path, f"{section}.{missing[0]}", "is missing.")
    return {key: _entry(path, f"{section}.{key}", raw[key], kind, lowest)
            for key, (kind, lowest) in keys.items() if key in raw}


def check_header(path: str, data: Any) -> dict[str, Any]:
    """``data`` as a mapping with string ``name``, ``family``, ``description``."""
    if not isinstance(data, Mapping):
        raise TargetError(path, f"expected a mapping at the top, got {type(data).__name__}.",
                          "Start from a packaged target file (`neurocc targets`).")
    if data.get("kind") == NETWORK_KIND:
        raise TargetError(path, f"is a network spec (kind: {NETWORK_KIND}), not a target file.",
                          f"Pass it as the model: neurocc compile {path} --target NAME.")
    for key in HEADER_KEYS:
        if not isinstance(data.get(key), str):
            raise key_error(path, key, "expected a string header key.")
    return dict(data)


def parse_target(data: Any, schema: TargetSchema, path: str = "<target>") -> TargetSpec:
    """A validated spec from parsed target-file content (``path`` names it in errors)."""
    data = check_header(path, data)
    unknown = sorted(set(data) - set(HEADER_KEYS) - set(schema.sections))
    if unknown:
        raise key_error(path, unknown[0], f"is not a known key; expected the header "
                        f"{list(HEADER_KEYS)} and the sections {list(schema.sections)}.")
    entries: dict[str, Entry] = {}
    given: dict[str, tuple[str, ...]] = {}
    for section, keys in schema.sections.items():
        if section not in data:
            raise key_error(path, section, "is missing (a section of the target file).")
        found = _section(path, section, data[section], keys, schema.optional)
        entries.update(found)
        given[section] = tuple(found)
    spec = schema.spec_type(data["name"], data["family"], data["description"], path, entries,
                            given)
    if schema.check is not None:
        schema.check(path, spec)
    return spec


def read_yaml(path: Path) -> Any:
    """The parsed content of a target file, or a TargetError saying why it cannot be read."""
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TargetError(str(path), f"cannot be read as YAML ({exc}).",
                          "Fix the file or copy a packaged target again.") from exc
