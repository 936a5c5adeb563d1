"""``dapr-nb daprd build|start|path``: the shell side of :mod:`dapr_nb.daprd` (the only place that prints)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .build import PROGRAMS, SELECTIONS, Binaries, BuildError, BuildReport, binaries, build
from .process import Daprd, DaprdStartError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``daprd`` and its three sub-commands to the ``dapr-nb`` parser."""
    p = sub.add_parser("daprd", help="build real daprd from its Go module (cached) and run it like `dapr init`")
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (
        ("build", "build daprd, placement and scheduler (reused when cached)"),
        ("start", "start placement, scheduler (and Redis) and daprd in the foreground until Ctrl-C"),
        ("path", "print the folder of the cached binaries (or one program's path); exit 1 if not built"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("--version", help="Dapr runtime version (default: DAPR_NB_DAPRD_VERSION or the built-in one)")
        v.add_argument("--selection", default="sandbox", choices=SELECTIONS, help="daprd's components")
    build_p, start_p, path_p = (verbs.choices[v] for v in ("build", "start", "path"))
    build_p.add_argument("--force", action="store_true", help="build again even when cached")
    start_p.add_argument("--resources-path", type=Path, help="component YAMLs (default: the sandbox's defaults)")
    start_p.add_argument("--app-id", default="daprd")
    start_p.add_argument("--app-port", type=int, help="the app's port: daprd calls into it (app channel)")
    start_p.add_argument("--app-protocol", default="http", choices=["http", "grpc", "https", "grpcs", "h2c"])
    start_p.add_argument("--no-redis", action="store_true", help="start no Redis (no lockstore/configstore)")
    start_p.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    path_p.add_argument("program", nargs="?", choices=PROGRAMS)


def run(args: argparse.Namespace) -> int:
    """Run ``dapr-nb daprd <verb>``."""
    bins = binaries(args.version, args.selection)
    if args.verb == "path":
        if not bins.present():
            print(f"dapr-nb daprd: not built in {bins.bin_dir}: run `dapr-nb daprd build`", file=sys.stderr)
            return 1
        print(bins.path(args.program) if args.program else bins.bin_dir)
        return 0
    if args.verb == "build":
        logging.basicConfig(level=logging.INFO, format="dapr-nb daprd: %(message)s")
        try:
            report = build(bins, force=args.force)
        except BuildError as exc:
            print(f"dapr-nb daprd build: {exc}", file=sys.stderr)
            return 2
        print(describe(report))
        return 0
    return _start(args, bins)


def describe(report: BuildReport) -> str:
    """Return the lines ``dapr-nb daprd build`` prints: what, where, how long, how big."""
    bins = report.binaries
    how = "reused" if report.reused else "built"
    lines = [f"daprd {bins.version} ({bins.selection}) {how} in {report.seconds:.1f}s: {bins.bin_dir}"]
    lines += [f"  {name}: {size / 2**20:.1f} MiB" for name, size in report.sizes.items()]
    if report.steps:
        lines.append("  steps: " + ", ".join(f"{k} {v:.0f}s" for k, v in report.steps.items()))
    return "\n".join(lines)


def _start(args: argparse.Namespace, bins: Binaries) -> int:
    logging.basicConfig(level=logging.INFO, format="dapr-nb daprd: %(message)s")
    daprd = Daprd(
        resources_path=args.resources_path,
        app_id=args.app_id,
        bins=bins,
        redis=not args.no_redis,
        log_level=args.log_level,
        api_token=os.environ.get("DAPR_API_TOKEN", ""),  # like daprd itself: the token comes from the environment
        app_port=args.app_port,
        app_protocol=args.app_protocol,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        daprd.start()
    except DaprdStartError as exc:
        print(f"dapr-nb daprd start: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"daprd ready grpc={daprd.grpc_endpoint} http={daprd.http_endpoint} logs={daprd.workdir}/logs")
        for name, value in daprd.env().items():
            if name != "DAPR_API_TOKEN":  # the caller has it already; never echo a secret
                print(f"export {name}={value}")
        sys.stdout.flush()
        stop.wait()
    finally:
        daprd.stop()
    print("daprd stopped")
    return 0
