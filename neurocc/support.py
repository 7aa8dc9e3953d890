"""``docs/support.md``, generated from the registries: what neurocc reads, maps and runs.

Run ``python -m neurocc.support > docs/support.md`` after changing a registry;
``tests/test_support_doc.py`` fails while the file is out of date. Only the
built-in families are listed (a plug-in registered at run time is not part of
the shipped package).
"""

from __future__ import annotations

import importlib

from neurocc.backends import BUILTIN_FAMILIES
from neurocc.backends.family import Family
from neurocc.compiler.neurons import NEURON_MODELS
from neurocc.compiler.options import describe_options
from neurocc.compiler.passes import load_builtin_passes
from neurocc.frontends import FRONTENDS
from neurocc.frontends.nir.lowering import NEURON_LOWERINGS
from neurocc.frontends.nir.maps import SYNAPTIC_LOWERINGS
from neurocc.frontends.nir.source import PASSTHROUGH
from neurocc.sim.counters import COUNTERS

HEADER = """# Support matrix

Generated from the registries by `python -m neurocc.support > docs/support.md`; a test fails
when this file is out of date. Do not edit by hand.
"""


def builtin_families() -> list[Family]:
    return [importlib.import_module(module).FAMILY for module in BUILTIN_FAMILIES]


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def frontend_section() -> list[str]:
    rows = [[name, entry.accepts, entry.description] for name, entry in FRONTENDS.items()]
    nir_nodes = sorted({*NEURON_LOWERINGS, *SYNAPTIC_LOWERINGS, "Input", "Output"}
                       - {PASSTHROUGH})
    return ["## Frontends", "", *_table(["frontend", "accepts", "what"], rows), "",
            "NIR node types the reader lowers: " + ", ".join(f"`{n}`" for n in nir_nodes) + ".",
            ""]


def model_section(families: list[Family]) -> list[str]:
    head = ["neuron model", "receptors", "state", "equation",
            *[f"`{f.name}`" for f in families]]
    rows = []
    for name, model in NEURON_MODELS.items():
        receptors = getattr(model, "receptors", ())
        mapped = [_yes(f.models is None or name in f.models or name == "input")
                  for f in families]
        rows.append([f"`{name}`", ", ".join(receptors) or "-", ", ".join(model.state) or "-",
                     model.equation, *mapped])
    return ["## Neuron models (graph node types) and the families that map them", "",
            *_table(head, rows), ""]


def family_section(families: list[Family]) -> list[str]:
    rows = []
    for f in families:
        targets = ", ".join(p.stem for p in f.target_files()) or (f.demo_target or "-")
        options = "; ".join(i.describe() for i in describe_options(f.options)) or "-"
        rows.append([f"`{f.name}`", f.description, targets, _yes(bool(f.exact_engine)),
                     _yes(bool(f.energy_model)), ", ".join(sorted(f.exporters)) or "-",
                     ", ".join(sorted(f.verifiers)) or "-",
                     " → ".join(f.lowering) or "-", options])
    head = ["family", "what", "targets", "exact engine", "energy model", "exporters",
            "verifiers", "lowering", "compile options"]
    return ["## Families", "", *_table(head, rows), ""]


def engine_option_section(families: list[Family]) -> list[str]:
    rows = [[f"`{f.name}`", f"`{i.name}`", "|".join(i.choices) or i.kind,
             "none" if i.default is None else str(i.default), i.help]
            for f in families for i in describe_options(f.engine_options)]
    return ["## Engine options (`neurocc simulate --engine exact`)", "",
            *_table(["family", "option", "type", "default", "what"], rows), ""]


def tool_section(families: list[Family]) -> list[str]:
    rows = [[kind[:-1], f"`{name}`", f"`{f.name}`", t.help] for f in families
            for kind in ("exporters", "verifiers") for name, t in sorted(getattr(f, kind).items())]
    return ["## Exporters and verifiers", "",
            *_table(["kind", "name", "family", "what"], rows), ""]


def pass_section() -> list[str]:
    rows = []
    for name, spec in sorted(load_builtin_passes().items()):
        options = "; ".join(i.describe() for i in describe_options(spec.options)) or "-"
        rows.append([f"`{name}`", spec.description, ", ".join(spec.requires) or "-",
                     ", ".join(spec.provides) or "-", options])
    return ["## Passes", "", *_table(["pass", "what", "requires", "provides", "options"], rows),
            ""]


def counter_section() -> list[str]:
    rows = [[f"`{c.name}`", c.unit, c.meaning] for c in COUNTERS.values()]
    return ["## Event counters (the shared vocabulary)", "",
            *_table(["counter", "unit", "meaning"], rows), ""]


def render_support() -> str:
    families = builtin_families()
    lines = [HEADER, *frontend_section(), *model_section(families), *family_section(families),
             *engine_option_section(families), *tool_section(families), *pass_section(),
             *counter_section()]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render_support(), end="")
