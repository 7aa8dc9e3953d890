"""Validate a spec tree into frozen records, before anything is allocated.

Every check names the line and the key. Sizes are checked here from the
numbers alone (neurons per population, dense entries, expected synapses, the
shape of an ``.npz`` array read from its header), so a spec that would not fit
is refused before a single array exists.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.neurons import NEURON_MODELS, RESET_TO_VALUE
from neurocc.frontends.lsm.sampling import MAX_NEURONS
from neurocc.frontends.yaml.rules import check_sizes
from neurocc.frontends.yaml.source import Node, SpecText, located
from neurocc.frontends.yaml.units import (
    NUMBER,
    TIME,
    UNITS,
    VOLTAGE,
    UnitError,
    convert,
)

KIND = "network"
TOP_KEYS = ("kind", "name", "description", "dt", "seed", "voltage_unit", "populations",
            "projections", "inputs", "outputs")
POPULATION_KEYS = ("name", "model", "shape", "params", "reset")
PROJECTION_KEYS = ("name", "source", "target", "connect", "weight", "delay", "receptor")
RULE_KEYS: dict[str, tuple[str, ...]] = {  # connect: {rule: NAME, ...these}
    "all_to_all": ("self_connections",),
    "one_to_one": (),
    "fixed_probability": ("p", "self_connections"),
    "distance_dependent": ("c", "lambda", "self_connections"),
    "from_npz": ("file", "key"),
}
REQUIRED_RULE_KEYS = {"fixed_probability": ("p",), "distance_dependent": ("c", "lambda"),
                      "from_npz": ("file",)}
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "constant": ("value",), "normal": ("mean", "std"), "uniform": ("low", "high"),
    "gamma": ("mean", "std"), "lognormal": ("mean", "std"),
}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_DT_S = 1e-3
MAX_DIMENSIONS = 3


# -- records --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Distribution:
    """A value or a random law: ``constant`` (value), ``normal`` (mean, std), ``uniform``
    (low, high), ``gamma`` / ``lognormal`` (mean, std of the magnitude; the sign of mean)."""

    kind: str
    args: dict[str, float]

    @staticmethod
    def constant(value: float) -> Distribution:
        return Distribution("constant", {"value": value})


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    model: str
    shape: tuple[int, ...]
    params: dict[str, Distribution]  # graph parameter names (tau_s, v_threshold, ...)
    reset: str
    line: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class ConnectSpec:
    rule: str
    line: int
    probability: float = 1.0  # p of fixed_probability, c of distance_dependent
    length: float = 1.0  # lambda of distance_dependent, in grid units
    self_connections: bool = True
    file: Path | None = None
    key: str | None = None


@dataclass(frozen=True)
class ProjectionSpec:
    name: str
    source: str
    target: str
    connect: ConnectSpec
    weight: Distribution | None  # None: from the .npz file
    delay_steps: int
    delay_s: float
    receptor: str
    line: int


@dataclass(frozen=True)
class NetworkSpec:
    source: SpecText
    dt_s: float
    seed: int
    voltage_unit: str | None
    populations: tuple[PopulationSpec, ...]
    projections: tuple[ProjectionSpec, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    name: str = ""
    description: str = ""
    lines: dict[str, int] = field(default_factory=dict)  # top-level key -> line


# -- reading one mapping ----------------------------------------------------------------------
class Fields:
    """The keys of one mapping node: unknown ones refused, required ones present."""

    def __init__(self, node: Node, label: str, what: str, allowed: tuple[str, ...],
                 required: tuple[str, ...] = ()) -> None:
        self.node, self.label, self.what = node, label, what
        if not node.is_mapping:
            raise FrontendError(located(label, node.line), f"{what} must be a mapping of keys "
                                f"to values, got {_shown(node)}.", f"Keys: {', '.join(allowed)}.")
        for key in node.value:
            if key not in allowed:
                raise self.error(key, f"is not a key of {what}.",
                                 f"Known keys: {', '.join(allowed)}.{_did_you_mean(key)}")
        for key in required:
            if key not in node.value:
                raise FrontendError(located(label, node.line), f"{what} has no key '{key}'.",
                                    f"Add '{key}: ...'.")

    def get(self, key: str) -> Node | None:
        return self.node.value.get(key)

    def required(self, key: str) -> Node:
        node = self.node.value.get(key)
        if node is None:
            raise FrontendError(located(self.label, self.node.line), f"{self.what} has no key "
                                f"'{key}'.", f"Add '{key}: ...'.")
        return node

    def __contains__(self, key: str) -> bool:
        return key in self.node.value

    def line(self, key: str) -> int:
        return self.node.key_lines.get(key, self.node.line)

    def error(self, key: str, what: str, hint: str) -> FrontendError:
        return FrontendError(located(self.label, self.line(key), key), what, hint)

    def quantity(self, key: str, dimension: str, voltage_unit: str | None) -> float:
        try:
            return convert(self.node.value[key].value, dimension, voltage_unit)
        except UnitError as exc:
            raise self.error(key, f"{exc.what}", exc.hint) from exc

    def string(self, key: str, default: str = "") -> str:
        node = self.get(key)
        if node is None:
            return default
        if not isinstance(node.value, str):
            raise self.error(key, f"is {_shown(node)}, expected text.", "Write a name.")
        return node.value

    def name(self, key: str) -> str:
        value = self.string(key)
        if not NAME.match(value):
            raise self.error(key, f"is {value!r}, not a valid name.", "Use letters, digits "
                             "and '_', starting with a letter or '_'.")
        return value

    def flag(self, key: str, default: bool) -> bool:
        node = self.get(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            raise self.error(key, f"is {_shown(node)}, expected true or false.",
                             "Write true or false.")
        return node.value

    def integer(self, key: str, low: int, default: int) -> int:
        node = self.get(key)
        if node is None:
            return default
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"is {_shown(node)}, expected an integer >= {low}.",
                             "Write a whole number.")
        return value


def _shown(node: Node) -> str:
    if node.is_mapping:
        return "a mapping"
    if node.is_list:
        return "a list"
    return repr(node.value)


def _did_you_mean(key: str) -> str:
    if key.endswith("_s") and key[:-2]:
        return f" Times carry their unit here: write '{key[:-2]}: 20 ms', not '{key}'."
    if key in ("size", "n"):
        return " Write the size as 'shape: [N]' or 'shape: N'."
    return ""


# -- top level ----------------------------------------------------------------------------------
def check_kind(root: Node, label: str) -> None:
    """A network spec says ``kind: network``; a target file (``family:``) is sent back."""
    if not root.is_mapping:
        raise FrontendError(label, f"holds {_shown(root)} at the top, not a mapping.",
                            "A network spec starts with 'kind: network'.")
    kind = root.value.get("kind")
    if kind is None and "family" in root.value:
        family = root.value["family"].value
        raise FrontendError(located(label, root.key_lines["family"], "family"),
                            f"makes this a target file (family '{family}'), not a network "
                            "spec.", "Pass it as the target: neurocc compile MODEL --target "
                            f"{label}.")
    if kind is None:
        raise FrontendError(label, "has no 'kind' key.", "A network spec starts with "
                            "'kind: network'.")
    if kind.value != KIND:
        raise FrontendError(located(label, kind.line, "kind"), f"is {_shown(kind)}, not "
                            f"'{KIND}'.", "A network spec starts with 'kind: network'.")


def read_spec(root: Node, text: SpecText, dt_s: float | None = None,
              seed: int | None = None) -> NetworkSpec:
    """The whole spec as records; ``dt_s`` and ``seed`` override the file's."""
    check_kind(root, text.label)
    top = Fields(root, text.label, "the network spec", TOP_KEYS,
                 ("kind", "populations", "outputs"))
    voltage_unit = _voltage_unit(top)
    step_s = dt_s if dt_s is not None else (
        top.quantity("dt", TIME, None) if "dt" in top else DEFAULT_DT_S)
    if not step_s > 0:
        raise top.error("dt", f"is {step_s:g} s; the time step must be > 0.", "Write '1 ms'.")
    populations = _populations(top, voltage_unit)
    by_name = {p.name: p for p in populations}
    projections = _projections(top, by_name, voltage_unit, step_s, text.directory)
    inputs = _ports(top, "inputs", by_name, [p.name for p in populations if p.model == "input"])
    outputs = _ports(top, "outputs", by_name, [])
    _check_inputs(top, inputs, by_name)
    return NetworkSpec(text, step_s, seed if seed is not None else top.integer("seed", 0, 0),
                       voltage_unit, populations, projections, inputs, outputs,
                       top.string("name"), top.string("description"), dict(root.key_lines))


def _voltage_unit(top: Fields) -> str | None:
    unit = top.string("voltage_unit") or None
    if unit is not None and UNITS.get(unit, ("",))[0] != VOLTAGE:
        raise top.error("voltage_unit", f"is {unit!r}, not a voltage unit.",
                        f"Use one of {', '.join(k for k, v in UNITS.items() if v[0] == VOLTAGE)}.")
    return unit


def _ports(top: Fields, key: str, by_name: dict[str, PopulationSpec],
           default: list[str]) -> tuple[str, ...]:
    node = top.get(key)
    if node is None:
        return tuple(default)
    if not node.is_list or not node.value:
        raise top.error(key, f"is {_shown(node)}, expected a non-empty list of population "
                        "names.", f"For example '{key}: [out]'.")
    names = []
    for item in node.value:
        if item.value not in by_name:
            raise FrontendError(located(top.label, item.line, key), f"names {_shown(item)}, "
                                "which is not a population.",
                                f"Populations: {', '.join(by_name)}.")
        if item.value in names:
            raise FrontendError(located(top.label, item.line, key), f"names '{item.value}' "
                                "twice.", "List each population once.")
        names.append(item.value)
    return tuple(names)


def _check_inputs(top: Fields, inputs: tuple[str, ...], by_name: dict[str, PopulationSpec]
                  ) -> None:
    if not inputs:
        raise FrontendError(top.label, "has no population of model 'input'.",
                            "Add one: {name: in, model: input, shape: [N]}.")
    for name in inputs:
        if by_name[name].model != "input":
            raise top.error("inputs", f"names '{name}', a '{by_name[name].model}' population.",
                            "Inputs are populations of model 'input'.")
    stray = [p.name for p in by_name.values() if p.model == "input" and p.name not in inputs]
    if stray:
        raise top.error("inputs", f"leaves out the input population '{stray[0]}'.",
                        "List every population of model 'input'.")


# -- populations ----------------------------------------------------------------------------------
def _list(top: Fields, key: str, required: bool) -> list[Node]:
    node = top.get(key)
    if node is None:
        return []
    if not node.is_list or (required and not node.value):
        raise top.error(key, f"is {_shown(node)}, expected a list"
                        f"{' with at least one entry' if required else ''}.",
                        f"Write each entry on a line starting with '- ' under '{key}:'.")
    return node.value


def _populations(top: Fields, voltage_unit: str | None) -> tuple[PopulationSpec, ...]:
    specs: dict[str, PopulationSpec] = {}
    for node in _list(top, "populations", required=True):
        spec = _population(node, top.label, voltage_unit)
        if spec.name in specs:
            raise FrontendError(located(top.label, node.line, "name"), f"population "
                                f"'{spec.name}' is defined twice (first at line "
                                f"{specs[spec.name].line}).", "Give each population its own "
                                "name.")
        specs[spec.name] = spec
    return tuple(specs.values())


def _population(node: Node, label: str, voltage_unit: str | None) -> PopulationSpec:
    fields = Fields(node, label, "a population", POPULATION_KEYS, ("name", "model", "shape"))
    name = fields.name("name")
    model = fields.string("model")
    if model not in NEURON_MODELS:
        raise fields.error("model", f"is {model!r}, not a neuron model.",
                           f"Models: {', '.join(NEURON_MODELS)}.")
    shape = _shape(fields, label)
    params = _params(fields, model, voltage_unit)
    return PopulationSpec(name, model, shape, params, _reset(fields, model), node.line)


def _shape(fields: Fields, label: str) -> tuple[int, ...]:
    node = fields.required("shape")
    raw = node.value if node.is_list else [node]
    dims = [d.value for d in raw] if node.is_list else [node.value]
    if not 1 <= len(dims) <= MAX_DIMENSIONS or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims):
        raise fields.error("shape", f"is {dims!r}; expected 1 to {MAX_DIMENSIONS} positive "
                           "integers.", "For example 'shape: 100' or 'shape: [10, 10, 10]'.")
    size = math.prod(dims)
    if size > MAX_NEURONS:
        raise fields.error("shape", f"{dims} holds {size:,} neurons, more than the limit of "
                           f"{MAX_NEURONS:,} per population.", "Use a smaller population.")
    return tuple(dims)


def yaml_key(param: str) -> str:
    """The spec's name of a graph parameter: times drop their ``_s`` (``tau_s`` -> ``tau``),
    as the spec writes the unit in the value."""
    return param[:-2] if param.endswith("_s") else param


def dimension(param: str) -> str:
    if param.endswith("_s"):
        return TIME
    return VOLTAGE if param.startswith("v_") or param == "bias" else NUMBER


def _params(fields: Fields, model: str, voltage_unit: str | None) -> dict[str, Distribution]:
    spec = NEURON_MODELS[model]
    by_key = {yaml_key(p): p for p in spec.params}
    node = fields.get("params")
    if node is None:
        given = Fields(Node({}, fields.node.line, {}), fields.label, "params", ())
    else:
        given = Fields(node, fields.label, f"the params of a '{model}' population",
                       tuple(by_key))
    missing = [yaml_key(p) for p in spec.params if p not in spec.defaults
               and yaml_key(p) not in given]
    if missing:
        raise fields.error("params", f"of a '{model}' population need '{missing[0]}'.",
                           f"Add it under params ({_param_help(spec.params)}).")
    return {by_key[key]: distribution(given, key, dimension(by_key[key]), voltage_unit)
            for key in given.node.value}


def _param_help(params: tuple[str, ...]) -> str:
    units = {TIME: "a time", VOLTAGE: "a voltage", NUMBER: "a number"}
    return "; ".join(f"{yaml_key(p)}: {units[dimension(p)]}" for p in params)


def _reset(fields: Fields, model: str) -> str:
    resets = NEURON_MODELS[model].resets
    default = RESET_TO_VALUE if RESET_TO_VALUE in resets else resets[0]
    reset = fields.string("reset", default)
    if reset not in resets:
        raise fields.error("reset", f"is {reset!r}; a '{model}' population takes "
                           f"{list(resets)}.", "Leave it out for the default.")
    return reset


# -- values and distributions ------------------------------------------------------------------
def distribution(fields: Fields, key: str, dim: str, voltage_unit: str | None) -> Distribution:
    """A constant (``tau: 20 ms``) or a law (``{distribution: normal, mean: .., std: ..}``)."""
    node = fields.required(key)
    if not node.is_mapping:
        return Distribution.constant(fields.quantity(key, dim, voltage_unit))
    kind_node = node.value.get("distribution")
    kind = kind_node.value if kind_node is not None else None
    if kind not in DISTRIBUTIONS:
        raise fields.error(key, f"has distribution {kind!r}.",
                           f"Use one of {', '.join(DISTRIBUTIONS)}.")
    args = DISTRIBUTIONS[kind]
    law = Fields(node, fields.label, f"a '{kind}' distribution", ("distribution", *args), args)
    values = {arg: law.quantity(arg, dim, voltage_unit) for arg in args}
    _check_law(law, kind, values)
    return Distribution(kind, values)


def _check_law(law: Fields, kind: str, values: dict[str, float]) -> None:
    if values.get("std", 0.0) < 0:
        raise law.error("std", "is negative.", "A standard deviation is >= 0.")
    if kind == "uniform" and values["low"] > values["high"]:
        raise law.error("high", f"is below low ({values['high']:g} < {values['low']:g}).",
                        "Give low <= high.")
    if kind in ("gamma", "lognormal") and values["mean"] == 0:
        raise law.error("mean", f"is 0; a {kind} magnitude has a nonzero mean.",
                        "Its sign gives the sign of the values.")


# -- projections ---------------------------------------------------------------------------------
def _projections(top: Fields, by_name: dict[str, PopulationSpec], voltage_unit: str | None,
                 dt_s: float, directory: Path) -> tuple[ProjectionSpec, ...]:
    specs: dict[str, ProjectionSpec] = {}
    for node in _list(top, "projections", required=False):
        spec = _projection(node, top.label, by_name, voltage_unit, dt_s, directory)
        if spec.name in specs:
            raise FrontendError(located(top.label, node.line), f"projection '{spec.name}' is "
                                f"defined twice (first at line {specs[spec.name].line}).",
                                "Give the projections their own 'name:'.")
        specs[spec.name] = spec
    check_sizes(top.label, tuple(specs.values()), by_name)
    return tuple(specs.values())


def _projection(node: Node, label: str, by_name: dict[str, PopulationSpec],
                voltage_unit: str | None, dt_s: float, directory: Path) -> ProjectionSpec:
    fields = Fields(node, label, "a projection", PROJECTION_KEYS, ("source", "target", "connect"))
    source, target = (_endpoint(fields, key, by_name) for key in ("source", "target"))
    if by_name[target].model == "input":
        raise fields.error("target", f"is the input population '{target}'.",
                           "Inputs receive no projections.")
    connect = _connect(fields, directory)
    weight = _weight(fields, connect, voltage_unit)
    delay_s, steps = _delay(fields, dt_s, source == target)
    name = fields.name("name") if "name" in fields else f"{source}_{target}"
    return ProjectionSpec(name, source, target, connect, weight, steps, delay_s,
                          _receptor(fields, by_name[target]), node.line)


def _endpoint(fields: Fields, key: str, by_name: dict[str, PopulationSpec]) -> str:
    name = fields.string(key)
    if name not in by_name:
        raise fields.error(key, f"is {name!r}, not a population.",
                           f"Populations: {', '.join(by_name)}.")
    return name


def _connect(fields: Fields, directory: Path) -> ConnectSpec:
    node = fields.required("connect")
    rule_node = node.value.get("rule") if node.is_mapping else None
    rule = rule_node.value if rule_node is not None else None
    if rule not in RULE_KEYS:
        shown = f"rule {rule!r}" if node.is_mapping else _shown(node)
        raise fields.error("connect", f"has {shown}, not a known rule.",
                           f"Use 'connect: {{rule: NAME, ...}}' with NAME one of "
                           f"{', '.join(RULE_KEYS)}.")
    keys = Fields(node, fields.label, f"a '{rule}' rule", ("rule", *RULE_KEYS[rule]),
                  REQUIRED_RULE_KEYS.get(rule, ()))
    probability = keys.quantity("p" if rule == "fixed_probability" else "c", NUMBER, None) \
        if rule in ("fixed_probability", "distance_dependent") else 1.0
    if not 0 <= probability <= 1:
        raise keys.error("p" if rule == "fixed_probability" else "c", f"is {probability:g}, "
                         "not a probability.", "Give a value in [0, 1].")
    length = keys.quantity("lambda", NUMBER, None) if rule == "distance_dependent" else 1.0
    if not length > 0:
        raise keys.error("lambda", f"is {length:g}; the length constant must be > 0 (grid "
                         "units).", "Maass (2002) used 2.")
    file = directory / keys.string("file") if rule == "from_npz" else None
    return ConnectSpec(rule, node.line, probability, length, keys.flag("self_connections", True),
                       file, keys.string("key") or None)


def _weight(fields: Fields, connect: ConnectSpec, voltage_unit: str | None
            ) -> Distribution | None:
    if connect.rule == "from_npz":
        if "weight" in fields:
            raise fields.error("weight", "is given, but a from_npz projection takes its "
                               "weights from the file.", "Remove 'weight:' (scale the array "
                               "in the file instead).")
        return None
    if "weight" not in fields:
        raise FrontendError(located(fields.label, fields.node.line), "a projection has no key "
                            "'weight'.", "Add 'weight: 0.5' or a distribution.")
    return distribution(fields, "weight", VOLTAGE, voltage_unit)


def delay_steps(delay_s: float, dt_s: float) -> int:
    """``delay / dt`` rounded to the nearest step, halves up (1.5 ms at 1 ms: 2 steps)."""
    return math.floor(delay_s / dt_s + 0.5)


def _delay(fields: Fields, dt_s: float, onto_itself: bool) -> tuple[float, int]:
    delay_s = fields.quantity("delay", TIME, None) if "delay" in fields else 0.0
    if delay_s < 0:
        raise fields.error("delay", f"is {delay_s:g} s; delays are >= 0.", "Write '1 ms'.")
    steps = delay_steps(delay_s, dt_s)
    if onto_itself and steps < 1:
        raise fields.error("delay" if "delay" in fields else "target", f"is {steps} steps on "
                           "a projection from a population to itself; recurrent synapses "
                           "need at least one step.", f"Give 'delay: {dt_s * 1e3:g} ms' (one "
                           "step of dt) or more.")
    return delay_s, steps


def _receptor(fields: Fields, target: PopulationSpec) -> str:
    receptors = NEURON_MODELS[target.model].receptors
    receptor = fields.string("receptor")
    if receptor and receptor not in receptors:
        raise fields.error("receptor", f"is {receptor!r}; '{target.name}' ({target.model}) "
                           f"has {list(receptors)}.", "Name one of those.")
    if not receptor and len(receptors) > 1:
        raise FrontendError(located(fields.label, fields.node.line), f"a projection into "
                            f"'{target.name}' ({target.model}) names no receptor.",
                            f"Add 'receptor:' with one of {list(receptors)}.")
    return receptor
