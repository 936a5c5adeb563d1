"""The ``dapr-nb`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from .sandbox.errors import ComponentError
from .sandbox.server import SandboxConfig, SandboxServer


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _sandbox_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sandbox", help="run the embedded daprd-compatible sidecar in the foreground")
    p.add_argument("--grpc-port", type=int, default=_env_int("DAPR_GRPC_PORT", 50001), help="0 picks a free port")
    p.add_argument("--http-port", type=int, default=_env_int("DAPR_HTTP_PORT", 3500), help="0 picks a free port")
    p.add_argument("--resources-path", type=Path, help="folder of Dapr component YAMLs (default: built-in components)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DAPR_NB_DATA_DIR") or Path.home() / ".dapr_nb" / "sandbox"),
    )
    p.add_argument("--app-id", default=os.environ.get("APP_ID") or "sandbox")
    p.add_argument("--api-token", default=os.environ.get("DAPR_API_TOKEN", ""), help="require dapr-api-token")
    p.add_argument("--host", default="127.0.0.1", help="a non-loopback host requires --api-token")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def run_sandbox(args: argparse.Namespace) -> int:
    """Run a sandbox until SIGINT/SIGTERM or a Shutdown call; print the ready line once it serves."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SandboxConfig(
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        resources_path=args.resources_path,
        data_dir=args.data_dir,
        app_id=args.app_id,
        api_token=args.api_token,
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
    print(server.ready_line, flush=True)
    try:
        server.wait()
    finally:
        server.stop()
    print("sandbox stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dapr-nb``."""
    parser = argparse.ArgumentParser(prog="dapr-nb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _sandbox_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return run_sandbox(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
