"""Validated spec records -> a verified :class:`Graph`.

Random numbers: each population and each projection draws from its own
generator, seeded with the spec's ``seed`` and a CRC-32 of its name, so adding
or reordering entries leaves the others' draws as they were.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError, GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.yaml.rules import BUILDERS, draw, load_npz
from neurocc.frontends.yaml.schema import NetworkSpec, PopulationSpec, ProjectionSpec
from neurocc.frontends.yaml.source import located

DELAY_ROUNDING = "nearest step, halves up: floor(delay / dt + 0.5)"


def stream(seed: int, kind: str, name: str) -> np.random.Generator:
    """The generator of one entry: independent of the others and of their order."""
    return np.random.default_rng([seed, zlib.crc32(f"{kind}:{name}".encode())])


def _population(spec: NetworkSpec, pop: PopulationSpec) -> Population:
    rng = stream(spec.seed, "population", pop.name)
    params = {key: draw(law, rng, pop.size) if law.kind != "constant"
              else np.asarray(law.args["value"]) for key, law in pop.params.items()}
    return Population(pop.name, pop.model, pop.shape, params, pop.reset,
                      {"yaml": {"line": pop.line}})


def _weight(spec: NetworkSpec, proj: ProjectionSpec, pre: PopulationSpec,
            post: PopulationSpec) -> Any:
    if proj.connect.rule == "from_npz":
        return load_npz(spec.source.label, proj)
    return BUILDERS[proj.connect.rule](proj, pre, post, stream(spec.seed, "projection",
                                                                proj.name))


def _projection(spec: NetworkSpec, proj: ProjectionSpec,
                by_name: dict[str, PopulationSpec]) -> Projection:
    weight = _weight(spec, proj, by_name[proj.source], by_name[proj.target])
    metadata = {"yaml": {"rule": proj.connect.rule, "line": proj.line,
                         "delay_s": proj.delay_s}}
    return Projection(proj.name, proj.source, proj.target, weight,
                      np.asarray(proj.delay_steps, np.int64), metadata, proj.receptor)


def lower(spec: NetworkSpec) -> Graph:
    """Build every array and the Graph; a graph-level refusal (a cycle without delay, a
    drawn time constant <= 0) becomes a FrontendError naming the file."""
    by_name = {p.name: p for p in spec.populations}
    populations = {p.name: _population(spec, p) for p in spec.populations}
    projections = {p.name: _projection(spec, p, by_name) for p in spec.projections}
    metadata = {"frontend": "yaml", "source": spec.source.label,
                "source_sha256": spec.source.sha256, "dt_source": "spec",
                "yaml": {"name": spec.name, "description": spec.description,
                         "seed": spec.seed, "voltage_unit": spec.voltage_unit,
                         "delay_rounding": DELAY_ROUNDING}}
    try:
        return Graph(spec.dt_s, populations, projections, spec.inputs, spec.outputs, metadata)
    except GraphError as exc:
        line = _line_of(spec, exc.where)
        where = located(spec.source.label, line) if line else spec.source.label
        hint = (f"Give one projection of the cycle 'delay: {spec.dt_s * 1e3:g} ms' (one step) "
                "or more." if exc.where.startswith("cycle") else exc.hint)
        raise FrontendError(where, f"describes a network the graph refuses: {exc.where}: "
                            f"{exc.what}", hint) from exc


def _line_of(spec: NetworkSpec, where: str) -> int | None:
    """The line of the population or projection a GraphError names, if it names one."""
    names = [(f"projection '{p.name}'", p.line) for p in spec.projections] + \
        [(f"population '{p.name}'", p.line) for p in spec.populations]
    return next((line for name, line in names if where.startswith(name)), None)
