"""Run the sandbox in this process: one gRPC server (Dapr API + reflection) and daprd's HTTP API.

Rules: binds 127.0.0.1 unless told otherwise and refuses a non-loopback host without an API token;
one sandbox per data directory (an advisory lock file holds the owner's PID, so a refusal can name
it); the gRPC server carries the keep-alive and message-size options long-lived workflow and
subscription streams need. The gRPC server is a ``grpc.aio`` server on its own event-loop thread:
unary handlers run on a thread pool, streams and blocking waits on the loop (no thread each), at
most ``max_concurrent_streams`` of them. ``stop`` is bounded: streams are cancelled after the
grace, and every later step has its own timeout.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Coroutine
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import grpc
import grpc.aio
from dapr.proto.runtime.v1 import dapr_pb2, dapr_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..sidecar import bracket
from .appchannel.channel import PROTOCOLS, AppSettings
from .appchannel.direct import SECRET_HEADER
from .appchannel.health import HealthSettings
from .appchannel.lifecycle import AppChannelService
from .appchannel.proxy import ProxyHandler
from .errors import ComponentError
from .grpc_api import DaprApi
from .grpc_api._base import CallLimit, TokenInterceptor
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
"""Threads for unary handlers (created when used); streams and blocking waits hold none."""
MAX_CONCURRENT_STREAMS = 10_000
"""Default cap on concurrent streams plus blocking waits (``--max-concurrent-streams``)."""
STOP_MARGIN = 3.0
"""Seconds each shutdown step may take beyond the grace before it is abandoned."""
T = TypeVar("T")


@dataclass
class SandboxConfig:
    """Everything ``dapr-nb sandbox`` accepts."""

    host: str = "127.0.0.1"
    grpc_port: int = 50001
    http_port: int = 3500
    resources_path: Path | None = None
    data_dir: Path = field(default_factory=lambda: Path.home() / ".dapr_nb" / "sandbox")
    app_id: str = "sandbox"
    api_token: str = field(default="", repr=False)  # never shown in a repr (logs, notebooks)
    max_concurrent_streams: int = MAX_CONCURRENT_STREAMS
    http_limits: HttpLimits = field(default_factory=HttpLimits)
    app_port: int | None = None
    """``--app-port``: the app channel calls the app here (None: no app channel, as daprd without it)."""
    app_protocol: str = "http"
    app_channel_address: str = "127.0.0.1"
    app_api_token: str = field(default="", repr=False)  # APP_API_TOKEN: sent to the app as dapr-api-token
    app_max_concurrency: int = -1
    """``--app-max-concurrency``: calls into the app at once (-1: no limit)."""
    app_health: HealthSettings | None = None
    """``--enable-app-health-check`` and its settings (None: no health checks)."""
    app_wait_timeout: float | None = None
    """Seconds to wait for the app's port at start-up (None: as long as it takes, like daprd)."""
    nameres_dir: Path | None = None
    """Where sandboxes find each other by app id (None: ``$DAPR_NB_NAMERES_DIR`` or ``~/.dapr_nb/nameresolution``)."""

    def app_settings(self) -> AppSettings | None:
        """Return the app channel's settings, None without ``--app-port``."""
        if self.app_port is None:
            return None
        return AppSettings(self.app_port, self.app_protocol, self.app_channel_address, self.app_api_token,
                           self.app_max_concurrency, self.app_health)  # fmt: skip

    def check(self) -> None:
        """Refuse settings that would expose an unauthenticated sidecar."""
        if not _is_loopback(self.host) and not self.api_token:
            raise ComponentError(
                f"refusing to listen on {self.host} without an API token: set DAPR_API_TOKEN or pass "
                "--api-token-file, or keep the default --host 127.0.0.1"
            )
        if self.app_protocol not in PROTOCOLS:
            raise ComponentError(f"--app-protocol {self.app_protocol} is not supported by the sandbox: use http, grpc")
        if self.app_port is not None and not 0 < self.app_port < 65536:
            raise ComponentError(f"--app-port must be a TCP port (1-65535), got {self.app_port}")
        if self.max_concurrent_streams < 1:
            raise ComponentError(f"--max-concurrent-streams must be at least 1, got {self.max_concurrent_streams}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopThread:
    """An asyncio event loop on a daemon thread; coroutines are submitted from other threads."""

    def __init__(self, executor: futures.ThreadPoolExecutor) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(executor)  # asyncio.to_thread shares the unary handlers' pool
        self._thread = threading.Thread(target=self.loop.run_forever, name="dapr-nb-grpc-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result; raise TimeoutError after ``timeout`` seconds."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except (TimeoutError, futures.TimeoutError):  # distinct classes before Python 3.11
            future.cancel()
            raise TimeoutError(f"not done within {timeout}s") from None

    def close(self, timeout: float) -> bool:
        """Stop and close the loop; return False when it did not stop within ``timeout`` seconds."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self.loop.close()
        return True


def _bounded(step: Any, timeout: float, what: str) -> bool:
    """Run ``step()`` on a daemon thread; return False (and log) when it is still running after ``timeout`` s."""
    thread = threading.Thread(target=step, name=f"dapr-nb-stop-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("stopping the sandbox: %s did not finish within %.0fs; going on without it", what, timeout)
        return False
    return True


class SandboxServer:
    """The running listeners and runtime; ``start()`` returns once both listeners answer."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.runtime: Runtime | None = None
        self.grpc_port = 0
        self.http_port = 0
        self.stopped_cleanly = True
        """False after a stop() that had to abandon a step (a handler thread may still run)."""
        self._grpc: grpc.aio.Server | None = None
        self._loop: LoopThread | None = None
        self._pool: futures.ThreadPoolExecutor | None = None
        self._http: HttpApiServer | None = None
        self._lock_file: IO[str] | None = None
        self._app: AppChannelService | None = None
        self._proxy: ProxyHandler | None = None
        self._stopped = threading.Event()

    @property
    def ready_line(self) -> str:
        """Return the line printed once the sandbox serves."""
        host = bracket(self.config.host)
        return f"sandbox ready grpc={host}:{self.grpc_port} http={host}:{self.http_port} app-id={self.config.app_id}"

    def start(self) -> None:
        """Load components, bind both listeners and start serving; raise ComponentError/OSError on failure."""
        cfg = self.config
        cfg.check()
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = lock_data_dir(cfg.data_dir)
        try:
            self.runtime = build_runtime(cfg.app_id, cfg.data_dir, cfg.resources_path)
            self._app = AppChannelService(cfg.app_id, cfg.app_settings(), cfg.nameres_dir, cfg.app_wait_timeout)
            self.runtime.services["direct"] = self._app.direct
            self._start_grpc()
            self._start_http()
            self._app.register(cfg.host, self.http_port, self.grpc_port)
            self._app.wait_for_app()
        except BaseException:
            self.stop()
            raise

    def _start_grpc(self) -> None:
        self._pool = futures.ThreadPoolExecutor(max_workers=GRPC_THREADS, thread_name_prefix="dapr-nb-grpc")
        self._loop = LoopThread(self._pool)
        self._grpc, self.grpc_port = self._loop.run(self._serve_grpc(self._pool))

    async def _serve_grpc(self, pool: futures.ThreadPoolExecutor) -> tuple[grpc.aio.Server, int]:
        """Build, bind and start the aio server (on the loop it will run on)."""
        cfg = self.config
        assert self.runtime is not None
        assert self._app is not None
        direct = self._app.direct
        interceptors: list[grpc.aio.ServerInterceptor] = []
        if cfg.api_token:
            interceptors.append(TokenInterceptor(cfg.api_token, SECRET_HEADER, lambda: str(direct.secret)))
        interceptors.append(CallLimit(cfg.max_concurrent_streams))
        server = grpc.aio.server(migration_thread_pool=pool, options=GRPC_OPTIONS, interceptors=interceptors)
        dapr_pb2_grpc.add_DaprServicer_to_server(DaprApi(self.runtime), server)
        names = [dapr_pb2.DESCRIPTOR.services_by_name["Dapr"].full_name, reflection.SERVICE_NAME]
        for extra in self.runtime.services.values():
            register = getattr(extra, "register_grpc", None)
            if register is not None:
                names.extend(register(server))
        reflection.enable_server_reflection(names, server)
        self._proxy = self._app.proxy(bracket(cfg.app_channel_address))
        server.add_generic_rpc_handlers((self._proxy,))  # last: only methods no service above takes
        try:
            port = server.add_insecure_port(f"{bracket(cfg.host)}:{cfg.grpc_port}")
        except RuntimeError as exc:
            raise OSError(f"cannot listen for gRPC on {cfg.host}:{cfg.grpc_port}: {exc} (is the port in use?)") from exc
        if not port:
            raise OSError(f"cannot listen for gRPC on {cfg.host}:{cfg.grpc_port} (is the port in use?)")
        await server.start()
        return server, port

    def _start_http(self) -> None:
        cfg = self.config
        assert self.runtime is not None
        try:
            http = HttpApiServer((cfg.host, cfg.http_port), self.runtime, cfg.api_token, cfg.http_limits)
        except OSError as exc:
            raise OSError(f"cannot listen for HTTP on {cfg.host}:{cfg.http_port}: {exc.strerror}") from exc
        http.start()
        self._http, self.http_port = http, http.server_address[1]

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
        """Stop both listeners, close components and release the data directory, in bounded time.

        Calls still running after ``grace`` seconds are cancelled; each later step is abandoned after
        :data:`STOP_MARGIN` seconds (``stopped_cleanly`` then says so), so stop never hangs.
        """
        if self._stopped.is_set():
            return
        self._stopped.set()
        clean = True
        began = time.monotonic()
        if self._app is not None:
            self._app.unregister()
        if self._http is not None:
            clean = _bounded(self._stop_http, STOP_MARGIN, "http") and clean
        http_done = time.monotonic()
        if self._loop is not None:
            clean = self._stop_grpc(self._loop, grace) and clean
        grpc_done = time.monotonic()
        if self.runtime is not None:
            clean = _bounded(self.runtime.close, STOP_MARGIN, "components") and clean
        log.info("stopped in %.2fs (http %.2fs, grpc %.2fs, components %.2fs)", time.monotonic() - began,
                 http_done - began, grpc_done - http_done, time.monotonic() - grpc_done)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._lock_file is not None:
            self._lock_file.close()
        self.stopped_cleanly = clean

    def _stop_http(self) -> None:
        assert self._http is not None
        self._http.shutdown()
        self._http.server_close()

    def _stop_grpc(self, loop: LoopThread, grace: float) -> bool:
        clean = True
        if self._grpc is not None:
            try:
                loop.run(self._grpc.stop(grace), grace + STOP_MARGIN)
            except TimeoutError:
                log.warning("stopping the sandbox: the gRPC server did not stop within %.0fs", grace + STOP_MARGIN)
                clean = False
        if self._proxy is not None:
            try:
                loop.run(self._proxy.channels.close(), STOP_MARGIN)
            except TimeoutError:
                clean = False
        try:
            loop.run(loop.loop.shutdown_asyncgens(), STOP_MARGIN)
        except TimeoutError:
            clean = False
        return loop.close(STOP_MARGIN) and clean

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Take the data directory's lock and write this PID into it; name the live owner when it is taken.

    The lock is an ``flock``, which the kernel drops when its owner dies, so a stale lock file of a
    dead sandbox is simply taken over.
    """
    handle = open(data_dir / "sandbox.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held until stop()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        raise ComponentError(_lock_refusal(data_dir, owner)) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _lock_refusal(data_dir: Path, owner: str) -> str:
    where = f"the data directory {data_dir}"
    if not owner.isdigit():
        return f"another sandbox is using {where}; stop it or pass a different --data-dir"
    pid = int(owner)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return (f"another sandbox is using {where}: its lock names PID {pid}, which is gone, so a process it "
                "started still holds the lock (see `fuser -v` on sandbox.lock); stop that, or pass a different "
                "--data-dir")  # fmt: skip
    except PermissionError:
        pass
    return (f"another sandbox is using {where} (PID {pid}); stop it (`kill {pid}`, or `kill -9 {pid}` if it "
            "hangs) or pass a different --data-dir")  # fmt: skip
