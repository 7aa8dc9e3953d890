"""The comparison record written out: ``report.json``, a self-contained ``report.html``, markdown.

The page is a Jinja2 template (``templates/report.html.j2``, autoescaped) with the
figures of :mod:`neurocc.figures` inline as SVG: no network, script or stylesheet
outside the file. :func:`write_report` writes both files into a temporary sibling
directory and renames it into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from neurocc.backends.artifact import staged_directory
from neurocc.compiler.errors import NeuroccError

TEMPLATES = Path(__file__).resolve().parent / "templates"
PJ_UNITS = ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ"), (1.0, "pJ"))
NS_UNITS = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))
REPORT_FILES = ("report.json", "report.html")


def _scaled(value: float | None, units: tuple[tuple[float, str], ...]) -> str:
    if value is None:
        return "-"
    for scale, unit in units:
        if abs(value) >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value / units[-1][0]:.4g} {units[-1][1]}"


def energy_text(pj: float | None) -> str:
    return _scaled(pj, PJ_UNITS)


def duration_text(ns: float | None) -> str:
    return _scaled(ns, NS_UNITS)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.2f} %"


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if float(value).is_integer() else f"{value:,.4g}"


def _none(value: Any) -> str:
    return "-" if value is None else str(value)


def render_html(record: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    title = " vs ".join(t["label"] for t in record["targets"])
    return env.get_template("report.html.j2").render(
        record=record, figures=figures, title=title, pct=percent, num=number, opt=_none,
        energy=energy_text, duration=duration_text)


def render_markdown(record: Mapping[str, Any]) -> str:
    """One table of the targets and the baseline rows (for a terminal or a paper)."""
    lines = ["| target | family | engine | accuracy | prediction agreement | first divergence "
             "| energy / inference | bound | time / inference | SynOps / inference "
             "| activation sparsity |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in record["targets"]:
        energy = t["run"]["energy"] or {}
        ops = t["neurobench"]["synaptic_operations"]
        lines.append(" | ".join([
            f"| {t['label']}", t["family"], t["engine"], percent(t["fidelity"]["accuracy"]),
            percent(t["fidelity"]["prediction_agreement"]),
            _none(t["fidelity"]["first_divergence_step"]),
            energy_text(energy.get("energy_per_inference_pj")),
            energy.get("energy_bound", "no energy model"),
            duration_text(energy.get("time_per_inference_ns")),
            number(ops["effective_acs"] + ops["effective_macs"]),
            f"{t['neurobench']['activation_sparsity']:.4f} |"]))
    for name, row in record["baseline"]["rows"].items():
        lines.append(f"| baseline: {name} | {record['baseline']['table']} | analytic | | | | "
                     f"{energy_text(row['energy_per_inference_pj'])} | estimate | | "
                     f"{number(row['operations_per_inference'])} | |")
    return "\n".join(lines) + "\n"


def write_report(record: Mapping[str, Any], figures: Mapping[str, str],
                 directory: str | os.PathLike[str]) -> Path:
    """Write ``report.json`` and ``report.html`` into ``directory`` atomically."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(
            p.name not in REPORT_FILES for p in target.iterdir())):
        raise NeuroccError(str(target), "exists and is not a report directory.",
                           "Choose a new or empty output directory (-o).")
    with staged_directory(target) as staging:
        staging.chmod(0o755)  # mkdtemp's 0700 would make the report private to its writer
        (staging / "report.json").write_text(json.dumps(record, indent=2, sort_keys=True)
                                             + "\n")
        (staging / "report.html").write_text(render_html(record, figures))
    return target
