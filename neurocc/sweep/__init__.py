"""Design-space sweeps: every combination of a sweep file's models, targets, pipelines, bit
widths and device seeds, each compiled and run on the exact engine over a labelled input set,
on Dask (``docs/sweeps.md``).

:func:`run_sweep` expands the file into tasks (:mod:`.spec`, :mod:`.task`), skips those whose
record already exists in the results directory, runs the rest on the chosen executor
(:mod:`.cluster`), saves each record as it arrives and rebuilds the table and plots
(:mod:`.results`, :mod:`.plots`) at the end, also after an interruption.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.sweep.cluster import LOCAL, open_executor
from neurocc.sweep.plots import write_plots
from neurocc.sweep.results import ResultStore, table_rows
from neurocc.sweep.spec import SweepError, SweepSpec, read_sweep
from neurocc.sweep.task import SharedData, Task, hash_json, run_task, task_key

__all__ = ["SweepError", "SweepSummary", "describe", "expand", "read_sweep", "run_sweep"]


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep run did: tasks in the sweep, reused from an earlier run, run now,
    failed (recorded with their error) and lost (a worker failure Dask gave up on: they run
    again next time), the files written, and ``run_s``, the seconds from the executor being
    ready to the last result (cluster start-up excluded)."""

    total: int
    reused: int
    ran: int
    failed: int
    lost: int
    table: Path
    plots: tuple[Path, ...]
    executor: str
    run_s: float = 0.0


def run_sweep(path: str | Path, out_dir: str | Path, scheduler: str | None = LOCAL, *,
              progress: bool = True, retry_errors: bool = False,
              n_workers: int | None = None) -> SweepSummary:
    """Run the sweep file at ``path`` into ``out_dir`` (see the module docstring)."""
    spec = read_sweep(path)
    shared, fingerprints, base_synapses = _prepare(spec)
    tasks = _keyed(expand(spec), fingerprints)
    store = ResultStore(out_dir)
    done = {key for key, record in store.load().items()
            if record["status"] == "ok" or not retry_errors}
    todo = [task for task in tasks if task.key not in done]
    ran = failed = 0
    lost: list[Task] = []
    executor_name = "nothing to run"
    run_s = 0.0
    try:
        if todo:
            with open_executor(scheduler, n_workers) as executor, \
                    tqdm(total=len(todo), desc="sweep", unit="task", disable=not progress) as bar:
                executor_name = executor.description
                began = time.perf_counter()
                for index, record in executor.run(run_task, todo, shared):
                    if isinstance(record, BaseException):
                        lost.append(todo[index])
                    else:
                        store.save(record)
                        ran += 1
                        failed += record["status"] != "ok"
                    bar.update()
                run_s = time.perf_counter() - began
    finally:
        table, plots = _write_outputs(store, tasks, spec, base_synapses)
    return SweepSummary(len(tasks), len(tasks) - len(todo), ran, failed, len(lost), table,
                        tuple(plots), executor_name, run_s)


def expand(spec: SweepSpec) -> list[Task]:
    """Every task of the sweep, in a fixed order; axes a target cannot vary collapse."""
    from neurocc.backends import WEIGHT_BITS_KEY, load_target
    from neurocc.backends.family import get_family

    tasks = []
    for model in spec.models:
        for target in spec.targets:
            loaded = load_target(target)
            widths = spec.weight_bits if WEIGHT_BITS_KEY in loaded.entries else (None,)
            seeds = spec.device_seeds if get_family(loaded.family).seeded_engine else (None,)
            tasks.extend(Task(model.name, target, pipeline, bits, seed)
                         for pipeline in spec.pipelines for bits in dict.fromkeys(widths)
                         for seed in dict.fromkeys(seeds))
    return list(dict.fromkeys(tasks))


def _keyed(tasks: list[Task], fingerprints: Mapping[str, str]) -> list[Task]:
    keyed = [replace(task, key=task_key(task, fingerprints)) for task in tasks]
    return list({task.key: task for task in keyed}.values())


def _prepare(spec: SweepSpec) -> tuple[SharedData, dict[str, str], dict[str, int]]:
    import neurocc
    from neurocc.backends import load_target, resolve_target

    names = [model.name for model in spec.models]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise SweepError(spec.label, f"names the model '{duplicate}' twice.",
                         "Give each model entry its own 'name'.")
    graphs = {m.name: neurocc.load(m.path, frontend=m.frontend) for m in spec.models}
    spikes, labels = _read_input(spec)
    fingerprints = {f"model:{m.name}": _hash_path(m.path) for m in spec.models}
    targets: dict[str, Any] = {}
    for target in spec.targets:
        info = resolve_target(target)
        targets[target] = None if info.path is None or _packaged(info.path) else info.content
        fingerprints[f"target:{target}"] = hash_json(load_target(target).to_dict())
    fingerprints["input"] = _hash_arrays(spikes, labels)
    shared = SharedData(graphs, targets, spikes, labels, spec.align)
    return shared, fingerprints, {name: g.synapse_count() for name, g in graphs.items()}


def _packaged(path: Path) -> bool:
    from neurocc.backends.family import FAMILIES

    return any(path in family.target_files() for family in FAMILIES.values())


def _read_input(spec: SweepSpec) -> tuple[np.ndarray, np.ndarray]:
    entry = spec.data
    try:
        # our own handle: np.load leaves its file open when the archive is damaged
        with open(entry.path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            missing = [k for k in (entry.spikes_key, entry.labels_key) if k not in data.files]
            if missing:
                raise SweepError(f"{spec.label}: input {entry.path.name}", f"has no array "
                                 f"{missing[0]!r} (found {data.files}).", "Name the arrays "
                                 "with 'spikes:' and 'labels:' under 'input'.")
            spikes, labels = data[entry.spikes_key], data[entry.labels_key]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SweepError(f"{spec.label}: input {entry.path}", f"cannot be read ({exc}).",
                         "Give an .npz file with spike and label arrays.") from exc
    if len(spikes) != len(labels):
        raise SweepError(f"{spec.label}: input {entry.path.name}", f"has {len(spikes)} "
                         f"samples but {len(labels)} labels.", "Give one label per sample.")
    count = entry.samples or len(labels)
    return spikes[:count], labels[:count]


def _write_outputs(store: ResultStore, tasks: list[Task], spec: SweepSpec,
                   base_synapses: Mapping[str, int]) -> tuple[Path, list[Path]]:
    from neurocc.backends import resolve_target

    families = {target: resolve_target(target).family for target in spec.targets}
    extra = {task.key: {"family": families[task.target],
                        "synapses_before_passes": base_synapses[task.model]} for task in tasks}
    table = store.write_table(tasks, extra)
    plots = write_plots(table_rows(tasks, store.load(), extra), store.directory)
    return table, plots


def _hash_path(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        digest.update(file.read_bytes())
    return digest.hexdigest()



def _hash_arrays(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def describe(summary: SweepSummary) -> str:
    """The lines ``neurocc sweep`` prints."""
    if summary.reused == summary.total:
        head = f"all {summary.total} tasks already done"
    else:
        head = (f"{summary.total} tasks: {summary.reused} already done, {summary.ran} run on "
                f"{summary.executor} ({summary.failed} failed: errors are in the table)")
    if summary.lost:
        head += f"; {summary.lost} lost to worker failures (run the same command again)"
    return f"{head}\ntable: {summary.table}" + "".join(f"\nplot: {p}" for p in summary.plots)
