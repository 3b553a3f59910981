"""The ``spec3nb`` command line.

``spec3nb step NAME INPUT... -o OUTDIR [--set PARAM=VALUE ...]`` runs one Stage-3 step on
JWST files or an association; ``spec3nb step --list`` lists the steps and
``spec3nb step NAME --help`` their parameters. Errors print one line and exit with status 2
(bad input or parameters) or 1 (anything unexpected, with its traceback).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from spec3nb.errors import ParameterError, Spec3Error

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def _step_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec3nb step",
        add_help=False,
        description="Run one calwebb_spec3 step on JWST files or an association.",
    )
    parser.add_argument("name", nargs="?", help="the step (see --list)")
    parser.add_argument("inputs", nargs="*", help="an association (*_asn.json) or product files")
    parser.add_argument("-o", "--output-dir", default=".", help="where to write the products")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="PARAM=VALUE",
        help="a step parameter, e.g. --set snr=5.0,4.0 (repeatable)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--allow-outside", action="store_true",
        help="accept association members outside the association's folder",
    )
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument("-h", "--help", action="store_true", help="show help and exit")
    return parser


def parse_settings(step: str, settings: Sequence[str]) -> dict[str, str]:
    """Split ``PARAM=VALUE`` strings (the value keeps any further ``=``).

    Parameters
    ----------
    step : str
        The step name (for messages).
    settings : Sequence[str]
        The ``--set`` arguments.

    Returns
    -------
    dict[str, str]
        Values by parameter name, still as text.
    """
    values: dict[str, str] = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip():
            raise ParameterError(step, setting, "expected PARAM=VALUE")
        values[name.strip()] = value
    return values


def step_help(name: str) -> str:
    """Return the help text of one step: its summary and every parameter.

    Parameters
    ----------
    name : str
        The step name.

    Returns
    -------
    str
        The text.
    """
    from spec3nb.steps import get_step

    spec = get_step(name)
    lines = [f"spec3nb step {spec.name} INPUT... -o OUTDIR [--set PARAM=VALUE ...]", "",
             spec.summary, ""]
    params = spec.all_params
    if not params:
        lines.append("This step has no parameters.")
    for param in params.values():
        lines.append(f"  {param.name} ({param.type_name}, default {param.default!r})")
        lines.extend(textwrap.wrap(param.doc, 88, initial_indent="      ",
                                   subsequent_indent="      "))
    return "\n".join(lines)


def step_list() -> str:
    """Return one line per implemented step."""
    from spec3nb.steps import STEPS

    width = max(len(n) for n in STEPS)
    return "\n".join(f"{name:<{width}}  {spec.summary}" for name, spec in STEPS.items())


def cmd_step(argv: Sequence[str]) -> int:
    """Run ``spec3nb step``.

    Parameters
    ----------
    argv : Sequence[str]
        The arguments after ``step``.

    Returns
    -------
    int
        The exit status.
    """
    parser = _step_parser()
    args = parser.parse_args(list(argv))
    if args.list:
        print(step_list())
        return EXIT_OK
    if args.help or not args.name:
        print(step_help(args.name) if args.name else parser.format_help())
        return EXIT_OK if args.help or args.list else EXIT_INPUT
    if not args.inputs:
        parser.print_usage(sys.stderr)
        print("spec3nb step: error: no input files given", file=sys.stderr)
        return EXIT_INPUT
    from spec3nb.runner import run_step

    params = parse_settings(args.name, args.settings)
    result, written = run_step(args.name, args.inputs, args.output_dir, params,
                               overwrite=args.overwrite, allow_outside=args.allow_outside)
    if result.status != "COMPLETE":
        print(f"{args.name}: {result.status}: {result.reason}")
    for path in written:
        print(path)
    return EXIT_OK


def _simulate_parser() -> argparse.ArgumentParser:
    from spec3nb.simulate import SIM_MODES
    from spec3nb.simulate.dataset import BACKGROUNDS, SIZES

    parser = argparse.ArgumentParser(
        prog="spec3nb simulate",
        description="Write a simulated Stage-3 input set (_cal files, association, truth.json).",
    )
    parser.add_argument("mode", choices=SIM_MODES, help="the instrument mode")
    parser.add_argument("-o", "--output-dir", required=True, help="where to write the files")
    parser.add_argument("--size", choices=SIZES, default="small",
                        help="small (tests, tutorials) or full (real detector sizes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--nexp", type=int, help="number of science exposures")
    parser.add_argument("--nsources", type=int, help="number of sources (MOS, WFSS)")
    parser.add_argument("--background", choices=BACKGROUNDS, default="none",
                        help="background: none, nod (nod pairs) or dedicated (_x1d members)")
    parser.add_argument("--moving", action="store_true", help="simulate a moving target")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    return parser


def cmd_simulate(argv: Sequence[str]) -> int:
    """Run ``spec3nb simulate``.

    Parameters
    ----------
    argv : Sequence[str]
        The arguments after ``simulate``.

    Returns
    -------
    int
        The exit status.
    """
    from spec3nb.simulate import simulate_to

    args = _simulate_parser().parse_args(list(argv))
    try:
        path = simulate_to(args.output_dir, args.mode, overwrite=args.overwrite,
                           size=args.size, seed=args.seed, nexp=args.nexp,
                           nsources=args.nsources, background=args.background,
                           moving=args.moving)
    except ValueError as exc:  # option combinations the mode cannot make
        raise ParameterError("spec3nb simulate", args.mode, str(exc)) from None
    print(path)
    return EXIT_OK


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec3nb run",
        description="Run the whole calwebb_spec3 pipeline on an association.",
    )
    parser.add_argument("asn", help="the Level-3 association (*_asn.json)")
    parser.add_argument("-o", "--output-dir", default=".", help="where to write the products")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="STEP.PARAM=VALUE",
        help="a step parameter, e.g. --set extract_1d.extract_width=7 (repeatable)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--allow-outside", action="store_true",
                        help="accept association members outside its folder")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for per-source work (default: one per CPU)")
    parser.add_argument("--writers", type=int, default=None,
                        help="processes writing the products (default: one per CPU; "
                             "writing is Python-bound, so processes, not threads, share "
                             "it out; 1 writes in this process)")
    parser.add_argument("--readers", type=int, default=1, metavar="N",
                        help="read the members in N forked processes (faster for large "
                             "MOS and WFSS files; each reader holds about two copies of "
                             "its file meanwhile; default 1)")
    parser.add_argument("--batch", type=int, default=None, metavar="N",
                        help="with more than N sources (NIRSpec MOS, FS), compute and write "
                             "them N at a time, writing each batch while the next computes "
                             "(default 4; 0 keeps every product in memory to the end)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return parser


def apply_settings(session: object, settings: Sequence[str]) -> None:
    """Apply ``STEP.PARAM=VALUE`` settings to a session's nodes (one change).

    Parameters
    ----------
    session : Spec3Session
        The session.
    settings : Sequence[str]
        The ``--set`` arguments.
    """
    import traitlets

    with session.hold():
        for setting in settings:
            target, sep, value = setting.partition("=")
            step, dot, param = target.strip().partition(".")
            if not sep or not dot:
                raise ParameterError("spec3nb run", setting, "expected STEP.PARAM=VALUE")
            try:
                node = session[step]
                node.set_param(param, value)
            except KeyError as exc:
                raise ParameterError("spec3nb run", step, str(exc).strip("'\"")) from None
            except (AttributeError, traitlets.TraitError) as exc:
                raise ParameterError(step, param, str(exc)) from None


def _progress(session: object, start: float):
    import time

    def show(event) -> None:
        if event.status in ("done", "skipped", "error") and event.node != "inputs":
            elapsed = time.perf_counter() - start
            output = session.graph[event.node].output
            sources = ""
            if hasattr(output, "errors") and len(output) > 1:
                failed = len(output.errors)
                sources = f" [{len(output)} sources{f', {failed} failed' if failed else ''}]"
            print(f"[{elapsed:7.2f} s] {event.node}: {event.status}{sources}"
                  f"{' - ' + event.message if event.message else ''}", flush=True)
    return show


def _batch_progress(session: object, start: float):
    import time

    from spec3nb.stream import later_steps

    steps = ", ".join(later_steps(session))

    def show(done) -> None:
        failed = sum(len(f) for f in done.failed.values())
        print(f"[{time.perf_counter() - start:7.2f} s] sources {done.first}-{done.last} of "
              f"{done.total}: {steps} done{f' ({failed} failed)' if failed else ''}",
              flush=True)
    return show


def cmd_run(argv: Sequence[str]) -> int:
    """Run ``spec3nb run``: the whole pipeline, products written with jwst's names.

    Parameters
    ----------
    argv : Sequence[str]
        The arguments after ``run``.

    Returns
    -------
    int
        0 when every step and source succeeded, 1 when some failed (the others are still
        saved), 2 for bad input.
    """
    import time

    from spec3nb.graph import GraphError
    from spec3nb.parallel import LocalExecutor
    from spec3nb.session import Spec3Session

    args = _run_parser().parse_args(list(argv))
    session = Spec3Session.from_asn(args.asn, allow_outside=args.allow_outside,
                                    readers=args.readers,
                                    executor=LocalExecutor(args.workers))
    apply_settings(session, args.settings)
    if not args.quiet:
        print(f"{session.mode.label}: {len(session.inputs.science)} exposures; steps: "
              f"{', '.join(session.step_names)}", flush=True)
        session.graph.log.subscribe(_progress(session, time.perf_counter()))
    from spec3nb import stream
    from spec3nb.steps.outlier_memo import BLOTS

    batch = stream.DEFAULT_BATCH if args.batch is None else args.batch
    try:
        # Nothing runs twice here: medians kept for a re-run would only cost memory.
        with BLOTS.suspended():
            if stream.can_stream(session, batch):
                report = stream.run_streamed(session, args.output_dir, batch=batch,
                                             overwrite=args.overwrite, writers=args.writers,
                                             progress=None if args.quiet else _batch_progress(
                                                 session, time.perf_counter()))
                paths, errors = report.paths, report.errors
            else:
                session.run()
                paths = session.save(args.output_dir, overwrite=args.overwrite,
                                     processes=args.writers)
                errors = session.errors
    except GraphError as exc:
        print(f"spec3nb: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    for step, sources in errors.items():
        for key, message in sources.items():
            print(f"spec3nb: error: {step} failed on source {key or 'all'}: {message}",
                  file=sys.stderr)
    for path in paths:
        print(path)
    return EXIT_INTERNAL if errors else EXIT_OK


def cmd_demo(argv: Sequence[str]) -> int:
    """Run ``spec3nb demo [-o OUTDIR]``: every mode on a small simulated dataset.

    Parameters
    ----------
    argv : Sequence[str]
        The arguments after ``demo``.

    Returns
    -------
    int
        The exit status.
    """
    from spec3nb import demo

    parser = argparse.ArgumentParser(prog="spec3nb demo", description=demo.__doc__.split(
        "\n")[0])
    parser.add_argument("-o", "--output-dir", help="keep the data and products here")
    args = parser.parse_args(list(argv))
    return demo.main(args.output_dir)


COMMANDS = {"step": cmd_step, "simulate": cmd_simulate, "run": cmd_run, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spec3nb`` command.

    Parameters
    ----------
    argv : Sequence[str], optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: spec3nb {" + ",".join(COMMANDS) + "} ...\n\n"
              "  run        run the whole pipeline on an association (spec3nb run --help)\n"
              "  step       run one calwebb_spec3 step on files (spec3nb step --help)\n"
              "  simulate   write a simulated dataset (spec3nb simulate --help)\n"
              "  demo       simulate and run every mode on small data")
        known = not argv or argv[0] in ("-h", "--help")
        if not known:
            print(f"spec3nb: error: unknown command {argv[0]!r}", file=sys.stderr)
        return EXIT_OK if known and argv else EXIT_INPUT
    try:
        return COMMANDS[argv[0]](argv[1:])
    except Spec3Error as exc:
        print(f"spec3nb: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
