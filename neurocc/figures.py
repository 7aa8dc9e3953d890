"""The report's figures, drawn with matplotlib (no pyplot) as inline SVG text.

Each function takes the comparison record (and the runs, for rasters) and returns
one ``<svg>`` element, so the page needs no file, network or script. SVG ids are
salted with a fixed string and carry no date, so the same record draws the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from neurocc.compare import TargetRun

STYLE: Any = {"svg.hashsalt": "neurocc-report", "font.size": 9,
             "axes.spines.top": False, "axes.spines.right": False}  # matplotlib rc keys
HATCH_BOUND = "///"  # an energy total or term that is a bound, not an estimate
RASTER_SAMPLE = 0


def _subplots(*grid: int, **options: Any) -> tuple[Figure, Any]:
    """A figure without pyplot (no global backend, nothing to close) and its axes."""
    figsize = options.pop("figsize")
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **options)


def svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML header, no date)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _label(target: dict[str, Any]) -> str:
    return f"{target['label']} ({target['family']})"


def energy_totals(record: dict[str, Any]) -> str:
    """Energy per inference of each target and of the baseline rows, log scale.

    A total that is a bound is hatched and marked with an arrow toward where the true
    value lies (a lower bound points right, an upper bound left)."""
    names, values, bounds = [], [], []
    for target in record["targets"]:
        energy = target["run"]["energy"]
        if energy is None:
            continue
        names.append(_label(target))
        values.append(energy["energy_per_inference_pj"])
        bounds.append(energy["energy_bound"])
    for name, row in record["baseline"]["rows"].items():
        names.append(f"baseline: {name}")
        values.append(row["energy_per_inference_pj"])
        bounds.append("estimate")
    fig, ax = _subplots(figsize=(7.5, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))
    colors = ["#4c72b0" if not n.startswith("baseline") else "#999999" for n in names]
    hatches = [HATCH_BOUND if b != "estimate" else "" for b in bounds]
    bars = ax.barh(y, values, color=colors, hatch=hatches, edgecolor="black", linewidth=0.5)
    for bar, bound, value in zip(bars, bounds, values, strict=True):
        if bound.startswith(("lower", "upper")):
            arrow = "$\\rightarrow$" if bound.startswith("lower") else "$\\leftarrow$"
            ax.annotate(f"{arrow} {bound.split(' (')[0]}", (value, bar.get_y() + 0.4),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference (pJ, log scale)")
    return svg(fig)


def latency(record: dict[str, Any]) -> str:
    """Time per inference of each target with an energy model, log scale.

    A time that is a bound (operations serialized, a figure given as a maximum) is
    hatched and arrowed toward where the true value lies."""
    targets = [t for t in record["targets"] if t["run"]["energy"] is not None]
    fig, ax = _subplots(figsize=(7.5, 0.45 * max(len(targets), 1) + 1.2))
    for i, target in enumerate(targets):
        energy = target["run"]["energy"]
        value, bound = energy["time_per_inference_ns"], energy["time_bound"]
        bounded = "upper bound" in bound or "lower bound" in bound
        ax.barh(i, value, color="#c44e52", hatch=HATCH_BOUND if bounded else "",
                edgecolor="black", linewidth=0.5)
        if bounded:
            arrow = "$\\leftarrow$ upper bound" if "upper" in bound else \
                "$\\rightarrow$ lower bound"
            ax.annotate(arrow, (value, i), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8)
    ax.set_yticks(range(len(targets)), [_label(t) for t in targets])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time per inference (ns, log scale)")
    return svg(fig)


def energy_breakdown(record: dict[str, Any]) -> str:
    """Per target, each operation's share of the energy per inference (stacked bars).

    A term whose figure the source states as a bound is hatched."""
    targets = [t for t in record["targets"] if t["run"]["energy"] is not None]
    fig, ax = _subplots(figsize=(7.5, 0.5 * max(len(targets), 1) + 1.6))
    cmap = matplotlib.colormaps["tab10"]
    operations = sorted({op for t in targets for op in t["run"]["energy"]["breakdown"]})
    for i, target in enumerate(targets):
        energy = target["run"]["energy"]
        total = energy["energy_per_inference_pj"] or 1.0
        left = 0.0
        for op, term in energy["breakdown"].items():
            share = 100.0 * term["energy_pj"] / total
            bound = term["energy_figure"].get("bound")
            ax.barh(i, share, left=left, color=cmap(operations.index(op) % 10),
                    hatch=HATCH_BOUND if bound else "", edgecolor="black", linewidth=0.3,
                    label=op)
            left += share
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper center", ncol=4, fontsize=7,
              bbox_to_anchor=(0.5, -0.35), frameon=False)
    ax.set_yticks(range(len(targets)), [_label(t) for t in targets])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the energy per inference (%); hatched: a bound in the source")
    return svg(fig)


def utilization(record: dict[str, Any]) -> str:
    """Each limited resource's utilization (used / limit) per target."""
    rows = [(f"{t['label']}: {name}", use["utilization"]) for t in record["targets"]
            for name, use in t["run"]["resources"].items() if use.get("utilization") is not None]
    fig, ax = _subplots(figsize=(7.5, 0.28 * max(len(rows), 1) + 1.0))
    if rows:
        bars = ax.barh(range(len(rows)), [100.0 * r[1] for r in rows], color="#55a868")
        for bar, (_, share) in zip(bars, rows, strict=True):
            ax.annotate(f"{100.0 * share:.3g} %", (bar.get_width(), bar.get_y() + 0.4),
                        xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
        ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, 100)
    ax.set_xlabel("utilization of the target's limit (%, log above 1 %)")
    return svg(fig)


def spike_counts(record: dict[str, Any]) -> str:
    """Spikes per population on each target next to the float reference."""
    targets = record["targets"]
    names = sorted({p for t in targets for p in t["fidelity"]["populations"]})
    fig, ax = _subplots(figsize=(7.5, 3.0))
    width = 0.8 / (len(targets) + 1)
    x = np.arange(len(names))
    reference = [max(t["fidelity"]["populations"].get(n, {}).get("reference_spikes", 0)
                     for t in targets) for n in names]
    ax.bar(x, reference, width, label="float reference", color="#999999")
    for i, target in enumerate(targets):
        counts = [target["fidelity"]["populations"].get(n, {}).get("spikes", 0) for n in names]
        ax.bar(x + (i + 1) * width, counts, width, label=_label(target))
    ax.set_xticks(x + 0.4 - width / 2, names)
    ax.set_ylabel("spikes (all samples)")
    ax.legend(fontsize=7, frameon=False)
    return svg(fig)


def rates(record: dict[str, Any]) -> str:
    """Mean firing rate per population over time, one line per target."""
    targets = record["targets"]
    names = [n for n in targets[0]["rates_hz"]]
    fig, axes = _subplots(1, len(names), figsize=(2.6 * len(names) + 1, 2.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for target in targets:
            if name in target["rates_hz"]:
                ax.plot(target["rates_hz"][name], label=target["label"], linewidth=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("rate (Hz)")
    axes[0][-1].legend(fontsize=7, frameon=False)
    return svg(fig)


def rasters(runs: Sequence[TargetRun]) -> str:
    """Spike rasters of the first sample: one row per target, one column per population."""
    names = [n for n in runs[0].artifact.graph.step_order() if n in runs[0].result.spikes]
    fig, axes = _subplots(len(runs), len(names), figsize=(2.6 * len(names) + 1,
                                                             1.6 * len(runs) + 0.6),
                             squeeze=False, sharex=True)
    for row, run in zip(axes, runs, strict=True):
        for ax, name in zip(row, names, strict=True):
            spikes = run.result.spikes.get(name)
            if spikes is not None:
                steps, neurons = np.nonzero(spikes[RASTER_SAMPLE])
                ax.scatter(steps, neurons, s=4, marker="|", color="black", linewidths=0.6)
            ax.set_title(f"{run.record['label']}: {name}", fontsize=8)
        row[0].set_ylabel("neuron")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    return svg(fig)


def all_figures(record: dict[str, Any], runs: Sequence[TargetRun]) -> dict[str, str]:
    """Every figure of the page, by its id."""
    with matplotlib.rc_context(STYLE):
        return {"energy-totals": energy_totals(record),
                "energy-breakdown": energy_breakdown(record), "latency": latency(record),
                "utilization": utilization(record), "spike-counts": spike_counts(record),
                "rates": rates(record), "rasters": rasters(runs)}
