"""The ``dapr-nb`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .daprd import cli as daprd_cli
from .notebooks import SIDECARS
from .sandbox.appchannel.health import HealthSettings
from .sandbox.config_file import read_configuration
from .sandbox.errors import ComponentError
from .sandbox.http_api import limits as http_limits
from .sandbox.server import MAX_CONCURRENT_STREAMS, SandboxConfig, SandboxServer

log = logging.getLogger("dapr_nb")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _sandbox_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the embedded daprd-compatible sidecar in the foreground",
        epilog="API token: set DAPR_API_TOKEN (as for daprd) or pass --api-token-file; with neither, none is required.",
    )
    free = "0 picks a free port (daprd's name works too)"
    p.add_argument("--grpc-port", "--dapr-grpc-port", type=int, default=_env_int("DAPR_GRPC_PORT", 50001), help=free)
    p.add_argument("--http-port", "--dapr-http-port", type=int, default=_env_int("DAPR_HTTP_PORT", 3500), help=free)
    p.add_argument("--resources-path", type=Path, help="folder of Dapr component YAMLs (default: built-in components)")
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="a Dapr Configuration YAML (read and checked, not applied)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DAPR_NB_DATA_DIR") or Path.home() / ".dapr_nb" / "sandbox"),
    )
    p.add_argument("--app-id", default=os.environ.get("APP_ID") or "sandbox")
    token = p.add_mutually_exclusive_group()
    token.add_argument(
        "--api-token-file", type=Path, metavar="PATH", help="require the dapr-api-token read from PATH (one line)"
    )
    token.add_argument(
        "--api-token",
        metavar="TOKEN",
        help="require this dapr-api-token (ps shows it to every user: prefer DAPR_API_TOKEN or --api-token-file)",
    )
    p.add_argument("--host", default="127.0.0.1", help="a non-loopback host requires an API token")
    p.add_argument(
        "--max-concurrent-streams",
        type=int,
        default=_env_int("DAPR_NB_MAX_CONCURRENT_STREAMS", MAX_CONCURRENT_STREAMS),
        help="cap on open gRPC streams plus blocking workflow waits; over it: RESOURCE_EXHAUSTED",
    )
    _app_arguments(p)
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)  # stop when stdin closes
    http_limits.add_arguments(p)


def _app_arguments(p: argparse.ArgumentParser) -> None:
    """Add daprd's app-channel flags (``--app-port`` also from ``APP_PORT``, as for daprd)."""
    raw_port = os.environ.get("APP_PORT", "").strip()
    p.add_argument(
        "--app-port", type=int, default=int(raw_port) if raw_port else None,
        help="the app's port: invocations of this app id are sent there (default: APP_PORT, else no app channel)",
    )  # fmt: skip
    p.add_argument("--app-protocol", default="http", choices=["http", "grpc"], help="how the app is called")
    p.add_argument("--app-channel-address", default="127.0.0.1", help="the host the app listens on")
    p.add_argument("--app-max-concurrency", type=int, default=-1, help="calls into the app at once (-1: no limit)")
    p.add_argument("--enable-app-health-check", action="store_true", help="probe the app; refuse calls while unhealthy")
    p.add_argument("--app-health-check-path", default="/healthz", help="HTTP apps: the path probed with GET")
    p.add_argument("--app-health-probe-interval", type=int, default=5, metavar="SECONDS")
    p.add_argument("--app-health-probe-timeout", type=int, default=500, metavar="MILLISECONDS")
    p.add_argument("--app-health-threshold", type=int, default=3, help="failed probes in a row that make it unhealthy")
    p.add_argument(
        "--app-wait-timeout", type=float, default=None, metavar="SECONDS",
        help="give up when the app's port is not open after SECONDS (default: wait as long as daprd does)",
    )  # fmt: skip


def _app_health(args: argparse.Namespace) -> HealthSettings | None:
    """Return the app health-check settings from daprd's flags (None without ``--enable-app-health-check``)."""
    if not args.enable_app_health_check:
        return None
    return HealthSettings(args.app_health_check_path, float(args.app_health_probe_interval),
                          args.app_health_probe_timeout / 1000, args.app_health_threshold)  # fmt: skip


def api_token(args: argparse.Namespace) -> str:
    """Return the token the sandbox requires: ``--api-token-file``, else ``--api-token``, else DAPR_API_TOKEN.

    The file holds the token on one line (a trailing newline is dropped); ValueError names what is wrong.
    """
    if args.api_token_file is None:
        return str(args.api_token if args.api_token is not None else os.environ.get("DAPR_API_TOKEN", ""))
    path: Path = args.api_token_file
    try:
        token = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --api-token-file {path}: {exc}") from None
    if not token:
        raise ValueError(f"--api-token-file {path} is empty; put the token on its first line")
    if "\n" in token or "\r" in token:
        raise ValueError(f"--api-token-file {path} holds more than one line; keep only the token")
    return token


def _stop_when_stdin_closes(server: SandboxServer) -> None:
    sys.stdin.read()
    assert server.runtime is not None
    server.runtime.shutdown_requested.set()


def run_sandbox(args: argparse.Namespace) -> int:
    """Run a sandbox until SIGINT/SIGTERM or a Shutdown call; print the ready line once it serves."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        token = api_token(args)
    except ValueError as exc:
        print(f"dapr-nb sandbox: {exc}", file=sys.stderr, flush=True)
        return 2
    if args.api_token is not None:
        log.warning(
            "--api-token shows the token to every user of this machine (ps); prefer DAPR_API_TOKEN or --api-token-file"
        )
    try:
        unapplied = read_configuration(args.config) if args.config else []
    except ComponentError as exc:
        print(f"dapr-nb sandbox: {exc}", file=sys.stderr, flush=True)
        return 2
    if unapplied:
        log.warning("--config %s: the sandbox does not apply spec.%s", args.config, ", spec.".join(unapplied))
    config = SandboxConfig(
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        resources_path=args.resources_path,
        data_dir=args.data_dir,
        app_id=args.app_id,
        api_token=token,
        max_concurrent_streams=args.max_concurrent_streams,
        http_limits=http_limits.from_arguments(args),
        app_port=args.app_port,
        app_protocol=args.app_protocol,
        app_channel_address=args.app_channel_address,
        app_api_token=os.environ.get("APP_API_TOKEN", ""),
        app_wait_timeout=args.app_wait_timeout,
        app_max_concurrency=args.app_max_concurrency,
        app_health=_app_health(args),
    )
    server = SandboxServer(config)
    try:
        server.start()
    except (ComponentError, OSError) as exc:
        print(f"dapr-nb sandbox: {exc}", file=sys.stderr, flush=True)
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        assert server.runtime is not None
        server.runtime.shutdown_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if args.exit_with_parent:  # a kernel that dies without stopping its sandbox must not leave it running
        threading.Thread(target=_stop_when_stdin_closes, args=(server,), daemon=True).start()
    print(server.ready_line, flush=True)
    try:
        server.wait()
    finally:
        server.stop()
    print("sandbox stopped", flush=True)
    if not server.stopped_cleanly:  # a handler thread is stuck: exiting normally would wait for it forever
        sys.stderr.flush()
        os._exit(0)
    return 0


def _lab_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lab", help="start a sandbox and JupyterLab pointed at it; stop the sandbox when Lab exits")
    p.add_argument("--notebooks", type=Path, help="folder to open (default: ./notebooks if present, else .)")
    p.add_argument("--data-dir", type=Path, help="sandbox data directory (default: a temporary one)")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help="arguments passed on to jupyter lab (after --)")


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="execute notebooks headless, each against a fresh sandbox (or daprd)")
    p.add_argument("notebooks", type=Path, nargs="+")
    p.add_argument("--output-dir", type=Path, default=Path("executed"), help="where executed copies go")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    p.add_argument("--no-html", action="store_true", help="do not write HTML copies")
    p.add_argument(
        "--sidecar",
        choices=SIDECARS,
        default=os.environ.get("DAPR_NB_SIDECAR", "sandbox"),
        help="a fresh sandbox per notebook (default), a fresh real daprd (`dapr-nb daprd build` first), "
        "or env: the sidecar the DAPR_* variables name (default: DAPR_NB_SIDECAR or sandbox)",
    )
    p.add_argument("--use-env", action="store_const", const="env", dest="sidecar", help="same as --sidecar env")


def run_lab_command(args: argparse.Namespace) -> int:
    """Run ``dapr-nb lab``."""
    from .lab import find_notebooks_dir, run_lab

    extra = [a for a in args.lab_args if a != "--"]
    try:
        return run_lab(args.notebooks or find_notebooks_dir(), args.data_dir, extra)
    except RuntimeError as exc:
        print(f"dapr-nb lab: {exc}", file=sys.stderr)
        return 2


def run_notebooks_command(args: argparse.Namespace) -> int:
    """Run ``dapr-nb run``."""
    from .notebooks import run_notebooks

    logging.basicConfig(level=logging.INFO, format="dapr-nb run: %(message)s")
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"dapr-nb run: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        return run_notebooks(
            args.notebooks, args.output_dir, timeout=args.timeout, html=not args.no_html, sidecar=args.sidecar
        )
    except RuntimeError as exc:  # a sidecar that cannot start (daprd not built, a port in use, ...)
        print(f"dapr-nb run: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dapr-nb``."""
    parser = argparse.ArgumentParser(prog="dapr-nb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _sandbox_parser(sub)
    _lab_parser(sub)
    _run_parser(sub)
    daprd_cli.add_parser(sub)
    args = parser.parse_args(argv)
    commands = {"sandbox": run_sandbox, "lab": run_lab_command, "run": run_notebooks_command, "daprd": daprd_cli.run}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
