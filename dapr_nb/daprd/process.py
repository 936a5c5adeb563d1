"""``Daprd``: run real daprd with placement and scheduler the way ``dapr init`` self-hosted does.

Rules: every process listens on 127.0.0.1 on free ports and keeps its data and log in one
temporary folder, removed on stop; ``start`` returns only once daprd answers ``/v1.0/healthz``
and has connected to the scheduler; ``stop`` ends daprd first (SIGTERM, then SIGKILL after 10 s),
then the control plane, then Redis. The object has the surface of :class:`dapr_nb.sandbox.Sandbox`
(``grpc_endpoint``, ``http_endpoint``, ``env()``, context manager) so tests can take either.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from ..sidecar import SidecarEndpoints
from .build import Binaries, binaries
from .redis import RedisError, redis_command, set_configuration_items
from .resources import default_components, write_components, write_config

log = logging.getLogger("dapr_nb.daprd")


class DaprdStartError(RuntimeError):
    """daprd (or placement, scheduler, Redis) did not come up; the message carries the end of its log."""


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that were free a moment ago on 127.0.0.1."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _flags(opts: dict[str, object]) -> list[str]:
    """Return ``--name value`` pairs for a program's command line."""
    return [part for name, value in opts.items() for part in (f"--{name}", str(value))]


class _Child:
    """One started program: its process and its log file."""

    def __init__(self, name: str, args: list[str], logdir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        log.debug("daprd: starting %s", " ".join(args))
        self.proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )

    def tail(self, lines: int = 20) -> str:
        """Return the last lines the program wrote."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(nothing)"

    def stop(self) -> None:
        """SIGTERM, wait up to 10 s, then SIGKILL; close the log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                log.warning("daprd: %s ignored SIGTERM for 10 s; killing it", self.name)
                self.proc.kill()
        self.proc.wait()
        self._log.close()


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - a loopback URL we built
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _redis_pong(port: int) -> bool:
    try:
        return redis_command(f"127.0.0.1:{port}", "PING", timeout=1) == b"PONG"
    except (OSError, RedisError):
        return False


class Daprd(SidecarEndpoints):
    """Real daprd + placement + scheduler (+ Redis when installed): ``with Daprd() as d: d.env()``."""

    def __init__(
        self,
        *,
        resources_path: str | Path | None = None,
        app_id: str = "daprd",
        bins: Binaries | None = None,
        redis: bool = True,
        features: tuple[str, ...] = (),
        start_timeout: float = 120.0,
        log_level: str = "info",
        api_token: str = "",
        app_port: int | None = None,
        app_protocol: str = "http",
        app_api_token: str = "",
        app_max_concurrency: int | None = None,
        app_health_check: dict[str, object] | None = None,
    ) -> None:
        self.bins = bins or binaries()
        self.resources_path = Path(resources_path) if resources_path else None
        self.app_id = app_id
        self.redis = redis
        self.features = features
        self.start_timeout = start_timeout
        self.log_level = log_level
        self._api_token = api_token
        self.app_port = app_port
        self.app_protocol = app_protocol
        self._app_api_token = app_api_token
        self.app_max_concurrency = app_max_concurrency
        self.app_health_check = app_health_check
        """daprd's health-check flags without ``app-health-`` (``{"check-path": "/healthz", "threshold": 1}``)."""
        self.redis_address: str | None = None
        self.workdir: Path | None = None
        self._children: list[_Child] = []

    @property
    def api_token(self) -> str:
        """Return the API token daprd requires on every call ("" for none)."""
        return self._api_token

    def env(self) -> dict[str, str]:
        """Return the DAPR_* variables, plus ``DAPR_NB_REDIS_ADDRESS`` (the Redis behind lockstore/configstore)."""
        env = super().env()
        if self.redis_address:
            env["DAPR_NB_REDIS_ADDRESS"] = self.redis_address
        return env

    def log_tail(self, program: str = "daprd", lines: int = 40) -> str:
        """Return the last lines one program (daprd, placement, scheduler, redis) wrote."""
        for child in self._children:
            if child.name == program:
                return child.tail(lines)
        return "(not started)"

    def start(self) -> Daprd:
        """Start Redis (if wanted and installed), placement, scheduler and daprd; wait until daprd is healthy."""
        missing = [p for p in ("daprd", "placement", "scheduler") if not self.bins.path(p).is_file()]
        if missing:
            raise DaprdStartError(f"{', '.join(missing)} not built in {self.bins.bin_dir}: run `dapr-nb daprd build`")
        self.workdir = Path(tempfile.mkdtemp(prefix="dapr-nb-daprd-"))
        try:
            self._start_all(self.workdir)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self, work: Path) -> None:
        logs = work / "logs"
        logs.mkdir()
        if self.redis and shutil.which("redis-server"):
            self._start_redis(work, logs)
        placement = self._start_placement(logs)
        scheduler = self._start_scheduler(work, logs)
        resources = self.resources_path or write_components(
            default_components(work / "data", self.redis_address), work / "components"
        )
        config = write_config(work / "config.yaml", self.features)
        self._start_daprd(logs, resources, config, placement, scheduler)

    def _start_redis(self, work: Path, logs: Path) -> None:
        (port,) = free_ports(1)
        (work / "redis").mkdir()
        opts = {
            "port": port,
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": work / "redis",
            "notify-keyspace-events": "KEA",  # configuration.redis subscriptions listen to keyspace events
        }
        child = self._spawn("redis", ["redis-server", *_flags(opts)], logs)
        self._wait(child, lambda: _redis_pong(port), "answer PING")
        self.redis_address = f"127.0.0.1:{port}"

    def _start_placement(self, logs: Path) -> str:
        port, healthz, raft = free_ports(3)
        opts = {"port": port, "healthz-port": healthz, "initial-cluster": f"dapr-placement-0=127.0.0.1:{raft}"}
        child = self._spawn("placement", [str(self.bins.path("placement")), *_flags(opts), *self._common()], logs)
        self._wait(child, lambda: _http_status(f"http://127.0.0.1:{healthz}/healthz") == 200, "report healthy")
        return f"127.0.0.1:{port}"

    def _start_scheduler(self, work: Path, logs: Path) -> str:
        port, healthz, client, peer = free_ports(4)
        opts = {
            "port": port,
            "healthz-port": healthz,
            "listen-address": "127.0.0.1",
            "etcd-data-dir": work / "scheduler",
            "etcd-client-port": client,
            "etcd-initial-cluster": f"dapr-scheduler-server-0=http://127.0.0.1:{peer}",
        }
        child = self._spawn("scheduler", [str(self.bins.path("scheduler")), *_flags(opts), *self._common()], logs)
        self._wait(child, lambda: _http_status(f"http://127.0.0.1:{healthz}/healthz") == 200, "report healthy")
        return f"127.0.0.1:{port}"

    def _start_daprd(self, logs: Path, resources: Path, config: Path, placement: str, scheduler: str) -> None:
        grpc, http, internal = free_ports(3)
        opts = {
            "app-id": self.app_id,
            "mode": "standalone",
            "dapr-grpc-port": grpc,
            "dapr-http-port": http,
            "dapr-internal-grpc-port": internal,
            "dapr-listen-addresses": "127.0.0.1",
            "resources-path": resources,
            "config": config,
            "placement-host-address": placement,
            "scheduler-host-address": scheduler,
            "dapr-graceful-shutdown-seconds": 2,
        }
        if self.app_port is not None:  # the app channel: daprd waits for this port before it reports healthy
            opts.update({"app-port": self.app_port, "app-protocol": self.app_protocol})
            if self.app_max_concurrency is not None:
                opts["app-max-concurrency"] = self.app_max_concurrency
            if self.app_health_check is not None:
                opts.update({f"app-health-{k}": v for k, v in self.app_health_check.items()})
        env = {k: v for k, v in os.environ.items() if k not in ("DAPR_API_TOKEN", "APP_API_TOKEN")}
        if self.api_token:
            env["DAPR_API_TOKEN"] = self.api_token  # daprd reads its token from the environment, like `dapr run`
        if self._app_api_token:
            env["APP_API_TOKEN"] = self._app_api_token  # sent to the app as dapr-api-token
        switches = ["--enable-app-health-check=true"] if self.app_health_check is not None else []  # a Go bool flag
        args = [str(self.bins.path("daprd")), *_flags(opts), *switches, *self._common()]
        child = self._spawn("daprd", args, logs, env)
        self.grpc_port, self.http_port = grpc, http
        base = f"http://127.0.0.1:{http}/v1.0"
        self._wait(child, lambda: _http_status(f"{base}/healthz") == 204, "report healthy on /v1.0/healthz")
        self._wait(child, lambda: self._scheduler_connected(base, self.api_token), "connect to the scheduler")

    def _common(self) -> list[str]:
        """Return the flags all three Dapr programs take: no metrics listener (port 9090 clashes), the log level."""
        return ["--enable-metrics=false", "--log-level", self.log_level]

    @staticmethod
    def _scheduler_connected(base: str, token: str) -> bool:
        request = urllib.request.Request(f"{base}/metadata", headers={"dapr-api-token": token} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=2) as resp:  # noqa: S310 - loopback
                meta = json.loads(resp.read())
        except (OSError, ValueError):
            return False
        return bool((meta.get("scheduler") or {}).get("connected_addresses"))

    def _spawn(self, name: str, args: list[str], logs: Path, env: dict[str, str] | None = None) -> _Child:
        child = _Child(name, args, logs, env)
        self._children.append(child)
        return child

    def _wait(self, child: _Child, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if child.proc.poll() is not None:
                raise DaprdStartError(f"{child.name} exited with {child.proc.returncode}; it said:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise DaprdStartError(
                    f"{child.name} did not {what} within {self.start_timeout:.0f}s; it said:\n{child.tail()}"
                )
            time.sleep(0.1)

    def set_configuration(self, items: Mapping[str, str | None]) -> None:
        """Set (``None``: delete) items of ``configstore`` (``configuration.redis``) in the Redis server behind it."""
        if self.redis_address is None:
            raise DaprdStartError("this daprd has no Redis server, so no configuration store: install redis-server")
        set_configuration_items(self.redis_address, items)

    def stop(self) -> None:
        """Stop daprd, then scheduler and placement, then Redis; remove the temporary folder."""
        for child in reversed(self._children):
            child.stop()
        self._children.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Daprd:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        for child in getattr(self, "_children", []):
            if child.proc.poll() is None:
                child.proc.kill()
