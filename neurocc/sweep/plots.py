"""The sweep's plots: accuracy against energy per inference with the Pareto front, accuracy
against bit width and against sparsity per target, and the spread over device seeds.

Each plot is written only when the sweep varies what it shows (a sweep with one bit width
has no bit-width plot).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node or in CI
import matplotlib.pyplot as plt


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: lower energy (x) and higher accuracy (y)
    at once. Ordered by energy."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for index in order:
        if points[index][1] > best:
            front.append(index)
            best = points[index][1]
    return front


def write_plots(rows: Sequence[Mapping[str, Any]], directory: Path) -> list[Path]:
    ok = [row for row in rows if row.get("status") == "ok" and row.get("accuracy") is not None]
    written = []
    for name, plot in (("pareto.png", _pareto), ("accuracy_vs_bits.png", _bits),
                       ("accuracy_vs_sparsity.png", _sparsity), ("seed_spread.png", _seeds)):
        figure = plot(ok)
        if figure is not None:
            path = directory / name
            figure.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(figure)
            written.append(path)
    return written


def _pareto(rows: Sequence[Mapping[str, Any]]) -> Any:
    priced = [r for r in rows if r.get("energy_per_inference_uj")]
    if not priced:
        return None
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    for target, group in _by(priced, "target").items():
        axes.scatter([r["energy_per_inference_uj"] for r in group],
                     [100 * r["accuracy"] for r in group], label=target, alpha=0.8)
    points = [(r["energy_per_inference_uj"], r["accuracy"]) for r in priced]
    front = [points[i] for i in pareto_front(points)]
    axes.plot([p[0] for p in front], [100 * p[1] for p in front], "k--", lw=1,
              label="Pareto front")
    axes.set(xscale="log", xlabel="energy per inference (µJ, log scale)",
             ylabel="accuracy (%)", title="Accuracy against energy")
    axes.legend(fontsize=8)
    return figure


def _bits(rows: Sequence[Mapping[str, Any]]) -> Any:
    return _against(rows, "weight_bits", "stored weight bits",
                    "Accuracy against weight width (mean over seeds and pipelines)")


def _sparsity(rows: Sequence[Mapping[str, Any]]) -> Any:
    return _against(rows, "sparsity", "sparsity (share of synapses removed)",
                    "Accuracy against sparsity")


def _against(rows: Sequence[Mapping[str, Any]], key: str, xlabel: str, title: str) -> Any:
    """Mean accuracy against ``key`` per target, or None when the sweep does not vary it."""
    varied = [r for r in rows if r.get(key) is not None]
    if len({round(float(r[key]), 3) for r in varied}) < 2:
        return None
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    for target, group in _by(varied, "target").items():
        _mean_line(axes, group, key, target)
    axes.set(xlabel=xlabel, ylabel="accuracy (%)", title=title)
    axes.legend(fontsize=8)
    return figure


def _seeds(rows: Sequence[Mapping[str, Any]]) -> Any:
    seeded = [r for r in rows if r.get("device_seed") is not None]
    groups = _by(seeded, "target")
    if not groups or max(len({r["device_seed"] for r in g}) for g in groups.values()) < 2:
        return None
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    names = sorted(groups)
    axes.boxplot([[100 * r["accuracy"] for r in groups[n]] for n in names])
    axes.set_xticks(range(1, len(names) + 1), names)
    axes.set(ylabel="accuracy (%)", title="Spread over device seeds")
    return figure


def _by(rows: Sequence[Mapping[str, Any]], key: str) -> dict[Any, list[Mapping[str, Any]]]:
    groups: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return dict(sorted(groups.items(), key=lambda item: str(item[0])))


def _mean_line(axes: Any, rows: Sequence[Mapping[str, Any]], key: str, label: str) -> None:
    by_x = _by(rows, key)
    xs = sorted(by_x)
    axes.plot(xs, [100 * sum(r["accuracy"] for r in by_x[x]) / len(by_x[x]) for x in xs],
              "o-", label=label)
