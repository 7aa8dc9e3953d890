"""The ``neurocc`` command line.

Exit codes: 0 success, 1 a verification found a difference, 2 bad input
(one-paragraph message, no traceback unless ``--debug``), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends.family import FAMILIES, Family, get_family, resolve, tool
from neurocc.compiler.errors import NeuroccError, SimulationError
from neurocc.compiler.options import describe_options, read_spikes_file
from neurocc.files import write_atomic
from neurocc.frontends import FRONTENDS

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
OPTION_PREFIX = "option_"  # argparse dest of the generated family-option flags


def _atomic_write(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def _cmd_compile(args: argparse.Namespace) -> int:
    import neurocc
    from neurocc.backends import resolve_target
    from neurocc.compiler.passes.pipeline import load_pipeline

    options = {"dt_s": args.dt} if args.dt is not None else {}
    info = resolve_target(args.target)
    family = get_family(info.family)
    chosen = _family_options(args, family)
    if "progress" in {i.name for i in describe_options(family.options)}:
        # the command line shows the family's compile bar unless told otherwise
        chosen.setdefault("progress", not args.quiet)
    steps: list[Any] = [] if args.pipeline is None else load_pipeline(args.pipeline, info.name,
                                                                      info.family)
    graph = neurocc.load(args.model, frontend=args.frontend, **options)
    artifact = neurocc.compile(graph, args.target, out=args.output,
                               passes=[*steps, *(args.passes or ())], **chosen)
    print(f"compiled {args.model} for {artifact.target} -> {artifact.path}")
    _print_resources(artifact.layout.get("resources", {}))
    return EXIT_OK


def _family_options(args: argparse.Namespace, family: Family, kind: str = "options"
                    ) -> dict[str, Any]:
    """The flags given on the command line, checked against ``family``'s options (``kind``:
    ``options`` for compile, ``engine_options`` for simulate)."""
    mine = {info.name for info in describe_options(getattr(family, kind))}
    given = {name: value for name, value in vars(args).items()
             if name.startswith(OPTION_PREFIX) and value is not None}
    chosen = {}
    for dest, value in given.items():
        name = dest[len(OPTION_PREFIX):]
        if name not in mine:
            owners = [f.name for f in FAMILIES.values()
                      if name in {i.name for i in describe_options(getattr(f, kind))}]
            raise NeuroccError(f"--{name.replace('_', '-')}", f"is an option of family "
                               f"{', '.join(owners)}, not of '{family.name}' (the target's).",
                               f"Options of '{family.name}': "
                               f"{', '.join(sorted(mine)) or 'none'}.")
        chosen[name] = read_spikes_file(value) if _is_array(family, name) else value
    return chosen


def _is_array(family: Family, name: str) -> bool:
    return any(i.name == name and i.kind == "array" for i in describe_options(family.options))


def _print_resources(resources: dict[str, Any]) -> None:
    for key, value in resources.items():
        limit = "" if value.get("limit") is None else f" of {value['limit']}"
        print(f"  {key}: {value['used']}{limit} {value.get('unit', '')}".rstrip())


def _result_arrays(result: Any) -> dict[str, np.ndarray]:
    arrays = {"spikes": result.output}
    arrays.update({f"spikes/{name}": value for name, value in result.spikes.items()})
    arrays.update({name: value for name, value in result.states.items()})
    return arrays


def _cmd_simulate(args: argparse.Namespace) -> int:
    import neurocc
    from neurocc.backends.artifact import npz_bytes
    from neurocc.report import simulation_report

    artifact = neurocc.read_artifact(args.artifact)
    spikes = read_spikes_file(args.input)
    chosen = _family_options(args, get_family(artifact.family), "engine_options")
    options = {"engine": args.engine, "align": args.align, "record_states": args.states}
    if args.scheduler is None:
        result = neurocc.simulate(artifact, spikes, progress=not args.quiet, **options,
                                  **chosen)
    else:
        from neurocc.sweep.dataset import simulate_on_cluster

        result = simulate_on_cluster(artifact, spikes, args.scheduler,
                                     progress=not args.quiet, **options, **chosen)
    output = Path(args.output)
    _atomic_write(output, npz_bytes(_result_arrays(result)))
    report = simulation_report(artifact, result, n_inferences=spikes.shape[0],
                               engine=args.engine)
    report_path = Path(args.report) if args.report else output.with_suffix(".report.json")
    _atomic_write(report_path, (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
    print(f"simulated {spikes.shape[0]} input(s) x {spikes.shape[1]} steps on "
          f"{args.engine} engine -> {output} (report: {report_path})")
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from neurocc.sweep import describe, run_sweep

    summary = run_sweep(args.sweep, args.output, args.scheduler, progress=not args.quiet,
                        retry_errors=args.retry_errors, n_workers=args.workers)
    print(describe(summary))
    return EXIT_OK


def _cmd_targets(args: argparse.Namespace) -> int:
    from neurocc.backends import list_targets, resolve_target

    if args.name:
        info = resolve_target(args.name)
        print(info.path.read_text() if info.path else f"{info.name}: {info.description}")
        return EXIT_OK
    for info in list_targets():
        where = f"  ({info.path})" if info.path else ""
        print(f"{info.name:<12} {info.family:<10} {info.description}{where}")
    return EXIT_OK


def _cmd_passes(args: argparse.Namespace) -> int:
    from neurocc.compiler.passes import ALIAS_HELP, load_builtin_passes

    for name, spec in sorted(load_builtin_passes().items()):
        facts = (f" requires {', '.join(spec.requires)};" if spec.requires else "") + \
            (f" provides {', '.join(spec.provides)}" if spec.provides else "")
        print(f"{name}: {spec.description}.{facts}")
        for info in describe_options(spec.options):
            print(f"  {info.describe()}")
    for name, description in sorted(ALIAS_HELP.items()):
        print(f"{name}: {description}.")
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from neurocc.report import artifact_summary

    print(artifact_summary(args.artifact))
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    import neurocc
    from neurocc.sim.inputs import check_spikes

    artifact = neurocc.read_artifact(args.artifact)
    verifier = tool(get_family(artifact.family), "verifiers", args.against)
    spikes = check_spikes(read_spikes_file(args.input), artifact.graph.n_inputs)
    report = resolve(verifier.function)(artifact, spikes)
    print(report.summary())
    return EXIT_OK if report.identical else EXIT_DIFFERENT


def _cmd_export(args: argparse.Namespace) -> int:
    import neurocc

    artifact = neurocc.read_artifact(args.artifact)
    exporter = tool(get_family(artifact.family), "exporters", args.tool)
    written = resolve(exporter.function)(artifact, Path(args.output))
    print(f"wrote {written} (run: python {written} --input IN.npz -o OUT.npz)")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurocc.backends.family import demo_targets
    from neurocc.demo import run_demo

    return run_demo(out_dir=Path(args.output), targets=args.targets or demo_targets())


def read_labels(path: str) -> np.ndarray:
    """A 1-D label array from a ``.npy`` file, or a clear error."""
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SimulationError(path, f"cannot be read as a .npy array ({exc}).",
                              "Save the labels with np.save(path, labels).") from exc
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise SimulationError(path, f"holds a {labels.dtype} array of shape {labels.shape}; "
                              "expected integer class labels, one per sample.",
                              "Save a 1-D integer array with np.save(path, labels).")
    return labels


def _cmd_report(args: argparse.Namespace) -> int:
    from neurocc.compare import compare_artifacts
    from neurocc.report_page import render_markdown

    if args.format == "html" and not args.output:
        raise NeuroccError("neurocc report", "--format html writes a directory.",
                           "Give -o REPORT_DIR (or --format md / json to print).")
    spikes = read_spikes_file(args.input)
    labels = read_labels(args.labels) if args.labels else None
    record, runs = compare_artifacts(args.artifacts, spikes, labels, input_name=args.input,
                                     progress=not args.quiet)
    if args.output:
        from neurocc.figures import all_figures
        from neurocc.report_page import write_report

        written = write_report(record, all_figures(record, runs), args.output)
        print(f"report: {written / 'report.html'} (record: {written / 'report.json'})",
              file=sys.stderr if args.format != "html" else sys.stdout)
    if args.format == "md":
        print(render_markdown(record), end="")
    elif args.format == "json":
        print(json.dumps(record, indent=2, sort_keys=True))
    return EXIT_OK


def _tool_names(kind: str) -> list[str]:
    return sorted({name for family in FAMILIES.values() for name in getattr(family, kind)})


def _tool_help(kind: str) -> str:
    return "; ".join(f"{name} ({family.name}): {t.help}" for family in FAMILIES.values()
                     for name, t in sorted(getattr(family, kind).items()))


def _add_family_options(parser: argparse.ArgumentParser, kind: str = "options") -> None:
    """One flag per option of every family's options dataclass (generated, never by hand);
    ``kind``: ``options`` (compile) or ``engine_options`` (simulate)."""
    seen: dict[str, str] = {}
    what = "engine options" if kind == "engine_options" else "options"
    families = sorted(FAMILIES.values(), key=lambda f: f.name)
    helps: dict[str, list[str]] = {}  # an option several families share: each one's meaning
    for family in families:
        for info in describe_options(getattr(family, kind)):
            helps.setdefault(info.name, []).append(
                f"{family.name}: {info.help} (default: {info.default})")
    for family in families:
        infos = describe_options(getattr(family, kind))
        if not infos:
            continue
        group = parser.add_argument_group(f"{what} of family '{family.name}'")
        for info in infos:
            if info.name in seen:
                continue
            seen[info.name] = family.name
            shared = helps[info.name]
            kwargs: dict[str, Any] = {"dest": OPTION_PREFIX + info.name, "default": None,
                                      "help": "; ".join(shared) if len(shared) > 1
                                      else f"{info.help} (default: {info.default})"}
            if info.choices:
                kwargs["choices"] = list(info.choices)
            elif info.kind == "array":
                kwargs["metavar"] = "FILE.npz"
                kwargs["help"] = f"{info.help}; read from the 'spikes' array of FILE.npz"
            elif info.kind in ("int", "float"):
                kwargs["type"] = {"int": int, "float": float}[info.kind]
            elif info.kind == "bool":
                kwargs["action"] = argparse.BooleanOptionalAction
            group.add_argument(info.flag, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurocc", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile a model for a target into an artifact directory")
    p.add_argument("model", help="model file (see `neurocc compile --help` for --frontend)")
    p.add_argument("--frontend", choices=sorted(FRONTENDS), default=None,
                   help="how to read MODEL (default: by its suffix): " + "; ".join(
                       f"{f.name}: {f.accepts}" for f in FRONTENDS.values()))
    p.add_argument("--target", required=True, help="target name (see `neurocc targets`) or .yaml")
    p.add_argument("--dt", type=float,
                   help="time step in seconds (default: the model's, else 1e-3)",
                   )
    p.add_argument("--pass", dest="passes", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help="run a compiler pass before the family's lowering (repeatable, in "
                        "order; `neurocc passes` lists them)")
    p.add_argument("--pipeline", metavar="PIPELINE.yaml",
                   help="a YAML file listing passes with options; they run before any --pass")
    _add_family_options(p)
    p.add_argument("-o", "--output", required=True, help="artifact directory to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar (by default the "
                   "families with a `progress` option show one; --progress/--no-progress "
                   "decides explicitly)")
    p.set_defaults(run=_cmd_compile)

    p = sub.add_parser("simulate", help="run an artifact on input spikes")
    p.add_argument("artifact")
    p.add_argument("--input", required=True, help=".npz with 'spikes' uint8 (batch, T, n_in)")
    p.add_argument("-o", "--output", required=True, help=".npz to write")
    p.add_argument("--engine", choices=["exact", "reference"], default="exact")
    p.add_argument("--align", action="store_true", help="remove the hardware's pipeline latency")
    p.add_argument("--states", action="store_true", help="also record state traces (v, u, ...)")
    p.add_argument("--report", help="report JSON path (default: OUTPUT with .report.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--scheduler", metavar="ADDRESS", help="split the batch over a Dask "
                   "cluster: 'local' (one worker per core here), or a scheduler address "
                   "such as tcp://host:8786 (default: run in this process)")
    _add_family_options(p, "engine_options")
    p.set_defaults(run=_cmd_simulate)

    p = sub.add_parser("sweep", help="run every combination of a sweep file on Dask "
                                     "(docs/sweeps.md)")
    p.add_argument("sweep", help="sweep .yaml file (kind: sweep)")
    p.add_argument("-o", "--output", required=True, help="results directory (re-running "
                   "with the same one runs only what is missing)")
    p.add_argument("--scheduler", default="local", metavar="ADDRESS",
                   help="'local' (default: a LocalCluster, one worker process per core), "
                        "'none' (serially here) or a Dask scheduler address tcp://host:8786")
    p.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    p.add_argument("--retry-errors", action="store_true",
                   help="run again the tasks whose record is an error")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_sweep)

    p = sub.add_parser("targets", help="list targets, or show one target file")
    p.add_argument("name", nargs="?")
    p.set_defaults(run=_cmd_targets)

    p = sub.add_parser("passes", help="list the compiler passes and their options")
    p.set_defaults(run=_cmd_passes)

    p = sub.add_parser("info", help="summarize an artifact")
    p.add_argument("artifact")
    p.set_defaults(run=_cmd_info)

    p = sub.add_parser("verify", help="compare the exact engine with a reference tool "
                                      "(the family's verifiers) on an input")
    p.add_argument("artifact")
    p.add_argument("--against", choices=_tool_names("verifiers"), required=True,
                   help=_tool_help("verifiers"))
    p.add_argument("--input", required=True)
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser("export", help="export an artifact to another tool")
    p.add_argument("tool", choices=_tool_names("exporters"), help=_tool_help("exporters"))
    p.add_argument("artifact")
    p.add_argument("-o", "--output", required=True, help="script path (e.g. net.py)")
    p.set_defaults(run=_cmd_export)

    p = sub.add_parser("report", help="simulate artifacts of one model on their targets and "
                                      "write a side-by-side report (JSON and HTML)")
    p.add_argument("artifacts", nargs="+", metavar="DIR", help="artifact directories")
    p.add_argument("--input", required=True, help=".npz with 'spikes' uint8 (batch, T, n_in)")
    p.add_argument("--labels", help=".npy of integer labels, one per sample (for accuracy)")
    p.add_argument("-o", "--output", help="report directory to write (report.json, "
                                          "report.html)")
    p.add_argument("--format", choices=["html", "md", "json"], default="html",
                   help="html: write -o only; md: also print a markdown table; json: also "
                        "print the record")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser("demo", help="the main job on the shipped example model")
    p.add_argument("-o", "--output", default="demo-out", help="where artifacts and reports go")
    p.add_argument("--targets", nargs="+", default=None,
                   help="targets to run (default: reference and each family's demo target)")
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except NeuroccError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"neurocc: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("neurocc: interrupted; finished work is kept, nothing is half-written",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
