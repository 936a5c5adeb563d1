"""Run the sandbox in this process: one gRPC server (Dapr API + reflection) and daprd's HTTP API.

Rules: binds 127.0.0.1 unless told otherwise and refuses a non-loopback host without an API token;
one sandbox per data directory (an advisory lock file says so); the gRPC server carries the
keep-alive and message-size options long-lived workflow and subscription streams need.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from dapr.proto.runtime.v1 import dapr_pb2, dapr_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .errors import ComponentError
from .grpc_api import DaprApi
from .grpc_api._base import TokenInterceptor
from .http_api import HttpApiServer
from .http_api.limits import HttpLimits
from .runtime import Runtime, build_runtime

log = logging.getLogger("dapr_nb.sandbox")

GRPC_OPTIONS = [
    ("grpc.http2.min_ping_interval_without_data_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]
GRPC_THREADS = 512
"""Long-lived streams and blocking waits each hold a thread; threads are only created when used."""


@dataclass
class SandboxConfig:
    """Everything ``dapr-nb sandbox`` accepts."""

    host: str = "127.0.0.1"
    grpc_port: int = 50001
    http_port: int = 3500
    resources_path: Path | None = None
    data_dir: Path = field(default_factory=lambda: Path.home() / ".dapr_nb" / "sandbox")
    app_id: str = "sandbox"
    api_token: str = ""
    http_limits: HttpLimits = field(default_factory=HttpLimits)

    def check(self) -> None:
        """Refuse settings that would expose an unauthenticated sidecar."""
        if not _is_loopback(self.host) and not self.api_token:
            raise ComponentError(
                f"refusing to listen on {self.host} without an API token: pass --api-token (or set DAPR_API_TOKEN), "
                "or keep the default --host 127.0.0.1"
            )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SandboxServer:
    """The running listeners and runtime; ``start()`` returns once both listeners answer."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.runtime: Runtime | None = None
        self.grpc_port = 0
        self.http_port = 0
        self._grpc: grpc.Server | None = None
        self._http: HttpApiServer | None = None
        self._lock_file: IO[str] | None = None
        self._stopped = threading.Event()

    @property
    def ready_line(self) -> str:
        """Return the line printed once the sandbox serves."""
        host = _bracket(self.config.host)
        return f"sandbox ready grpc={host}:{self.grpc_port} http={host}:{self.http_port} app-id={self.config.app_id}"

    def start(self) -> None:
        """Load components, bind both listeners and start serving; raise ComponentError/OSError on failure."""
        cfg = self.config
        cfg.check()
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir(cfg.data_dir)
        try:
            self.runtime = build_runtime(cfg.app_id, cfg.data_dir, cfg.resources_path)
            self._start_grpc()
            self._start_http()
        except BaseException:
            self.stop()
            raise

    def _start_grpc(self) -> None:
        cfg = self.config
        assert self.runtime is not None
        interceptors: list[grpc.ServerInterceptor] = [TokenInterceptor(cfg.api_token)] if cfg.api_token else []
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=GRPC_THREADS, thread_name_prefix="dapr-nb-grpc"),
            options=GRPC_OPTIONS,
            interceptors=interceptors,
        )
        dapr_pb2_grpc.add_DaprServicer_to_server(DaprApi(self.runtime), server)
        names = [dapr_pb2.DESCRIPTOR.services_by_name["Dapr"].full_name, reflection.SERVICE_NAME]
        for extra in self.runtime.services.values():
            register = getattr(extra, "register_grpc", None)
            if register is not None:
                names.extend(register(server))
        reflection.enable_server_reflection(names, server)
        try:
            port = server.add_insecure_port(f"{_bracket(cfg.host)}:{cfg.grpc_port}")
        except RuntimeError as exc:
            raise OSError(f"cannot listen for gRPC on {cfg.host}:{cfg.grpc_port}: {exc} (is the port in use?)") from exc
        if not port:
            raise OSError(f"cannot listen for gRPC on {cfg.host}:{cfg.grpc_port} (is the port in use?)")
        server.start()
        self._grpc, self.grpc_port = server, port

    def _start_http(self) -> None:
        cfg = self.config
        assert self.runtime is not None
        try:
            http = HttpApiServer((cfg.host, cfg.http_port), self.runtime, cfg.api_token, cfg.http_limits)
        except OSError as exc:
            raise OSError(f"cannot listen for HTTP on {cfg.host}:{cfg.http_port}: {exc.strerror}") from exc
        http.start()
        self._http, self.http_port = http, http.server_address[1]

    def _lock_data_dir(self, data_dir: Path) -> None:
        handle = open(data_dir / "sandbox.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise ComponentError(
                f"another sandbox is using the data directory {data_dir}; stop it or pass a different --data-dir"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def wait(self, timeout: float | None = None) -> bool:
        """Block until Shutdown is requested or stop() is called; return True if it happened."""
        runtime = self.runtime
        if runtime is None:
            return True
        deadline = None if timeout is None else timeout
        step = 0.2
        waited = 0.0
        while not self._stopped.is_set():
            if runtime.shutdown_requested.wait(step):
                return True
            waited += step
            if deadline is not None and waited >= deadline:
                return False
        return True

    def stop(self, grace: float = 1.0) -> None:
        """Stop both listeners, close components and release the data directory."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
        if self.runtime is not None:
            self.runtime.close()
        if self._lock_file is not None:
            self._lock_file.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
