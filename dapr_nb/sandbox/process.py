"""``Sandbox``: start a sandbox for tests and notebooks and hand out its endpoints.

By default the sandbox runs in a child process (``python -m dapr_nb.sandbox``) so a notebook
kernel stays responsive and a crash of one cannot take the other down; ``in_process=True`` runs
it on threads of this process instead. Without ``data_dir`` a temporary directory is used and
removed on exit.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ..sidecar import SidecarEndpoints
from .appchannel.health import HealthSettings
from .http_api.limits import HttpLimits
from .server import MAX_CONCURRENT_STREAMS, SandboxConfig, SandboxServer

log = logging.getLogger("dapr_nb.sandbox")

READY = re.compile(r"sandbox ready grpc=(?P<grpc>\S+):(?P<gport>\d+) http=(?P<http>\S+):(?P<hport>\d+)")


class SandboxStartError(RuntimeError):
    """The sandbox did not come up; the message carries what it printed."""


class Sandbox(SidecarEndpoints):
    """A sandbox sidecar with known endpoints: ``with Sandbox() as sb: sb.env()``.

    ``app_port`` gives it an app channel (daprd's ``--app-port``): it waits for that port to open
    before it reports ready, and invocations of its app id are sent there.
    """

    def __init__(
        self,
        *,
        resources_path: str | Path | None = None,
        data_dir: str | Path | None = None,
        app_id: str = "sandbox",
        api_token: str = "",
        host: str = "127.0.0.1",
        grpc_port: int = 0,
        http_port: int = 0,
        in_process: bool = False,
        start_timeout: float = 60.0,
        max_concurrent_streams: int = MAX_CONCURRENT_STREAMS,
        http_limits: HttpLimits | None = None,
        app_port: int | None = None,
        app_protocol: str = "http",
        app_channel_address: str = "127.0.0.1",
        app_api_token: str = "",
        app_wait_timeout: float | None = None,
        app_max_concurrency: int = -1,
        app_health: HealthSettings | None = None,
    ) -> None:
        self._tmp: str | None = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="dapr-nb-sandbox-")
            data_dir = self._tmp
        self.config = SandboxConfig(
            host=host,
            grpc_port=grpc_port,
            http_port=http_port,
            resources_path=Path(resources_path) if resources_path else None,
            data_dir=Path(data_dir),
            app_id=app_id,
            api_token=api_token,
            max_concurrent_streams=max_concurrent_streams,
            http_limits=http_limits or HttpLimits(),
            app_port=app_port,
            app_protocol=app_protocol,
            app_channel_address=app_channel_address,
            app_api_token=app_api_token,
            app_wait_timeout=app_wait_timeout,
            app_max_concurrency=app_max_concurrency,
            app_health=app_health,
        )
        self.in_process = in_process
        self.start_timeout = start_timeout
        self.grpc_port = 0
        self.http_port = 0
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._server: SandboxServer | None = None
        self._log_thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Return the host both listeners are bound to."""
        return self.config.host

    @property
    def pid(self) -> int:
        """Return the sandbox process id (this process when in_process)."""
        return self._proc.pid if self._proc else os.getpid()

    @property
    def api_token(self) -> str:
        """Return the API token the sandbox requires ("" for none)."""
        return self.config.api_token

    @property
    def app_id(self) -> str:  # type: ignore[override]
        """Return the app id the sandbox runs as."""
        return self.config.app_id

    def start(self) -> Sandbox:
        """Start the sandbox and wait until both listeners answer."""
        if self.in_process:
            self._server = SandboxServer(self.config)
            self._server.start()
            self.grpc_port, self.http_port = self._server.grpc_port, self._server.http_port
        else:
            self._start_process()
        return self

    def _start_process(self) -> None:
        cfg = self.config
        args = [
            sys.executable, "-m", "dapr_nb.sandbox",
            "--host", cfg.host,
            "--grpc-port", str(cfg.grpc_port),
            "--http-port", str(cfg.http_port),
            "--data-dir", str(cfg.data_dir),
            "--app-id", cfg.app_id,
            "--max-concurrent-streams", str(cfg.max_concurrent_streams),
            *cfg.http_limits.arguments(),
        ]  # fmt: skip
        if cfg.resources_path:
            args += ["--resources-path", str(cfg.resources_path)]
        if cfg.app_port is not None:
            args += ["--app-port", str(cfg.app_port), "--app-protocol", cfg.app_protocol,
                     "--app-channel-address", cfg.app_channel_address,
                     "--app-max-concurrency", str(cfg.app_max_concurrency)]  # fmt: skip
            if cfg.app_health is not None:
                health = cfg.app_health
                args += ["--enable-app-health-check", "--app-health-check-path", health.path,
                         "--app-health-probe-interval", str(round(health.interval)),
                         "--app-health-probe-timeout", str(round(health.timeout * 1000)),
                         "--app-health-threshold", str(health.threshold)]  # fmt: skip
            if cfg.app_wait_timeout is not None:
                args += ["--app-wait-timeout", str(cfg.app_wait_timeout)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("DAPR_API_TOKEN", None)
        env.pop("APP_PORT", None)  # only the arguments above choose the app port
        env.pop("APP_API_TOKEN", None)
        if cfg.app_api_token:
            env["APP_API_TOKEN"] = cfg.app_api_token
        if cfg.api_token:
            env["DAPR_API_TOKEN"] = cfg.api_token  # not on the command line, where `ps` would show it
        proc = subprocess.Popen(
            [*args, "--exit-with-parent"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,  # never written: it closes when this process dies, and the sandbox then stops
            text=True,
            env=env,
        )
        self._proc = proc
        match = self._read_until_ready(proc)
        self.grpc_port, self.http_port = int(match["gport"]), int(match["hport"])
        self._log_thread = threading.Thread(
            target=self._drain, args=(proc.stdout,), name="dapr-nb-sandbox-log", daemon=True
        )
        self._log_thread.start()

    def _read_until_ready(self, proc: subprocess.Popen[str]) -> re.Match[str]:
        assert proc.stdout is not None
        result: list[re.Match[str]] = []

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line.rstrip("\n"))
                found = READY.search(line)
                if found:
                    result.append(found)
                    return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        deadline = time.monotonic() + self.start_timeout
        while thread.is_alive() and proc.poll() is None and time.monotonic() < deadline:
            thread.join(0.1)
        thread.join(1.0)  # an exited process's last lines are still in the pipe
        if result:
            return result[0]
        if not thread.is_alive():  # end of output: the process closed it by exiting
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        code = proc.poll()
        exited = code is not None
        self._terminate(proc)
        said = "\n".join(self.output[-20:]) or "(nothing)"
        if exited:
            raise SandboxStartError(f"the sandbox exited with code {code} before it was ready; it said:\n{said}")
        raise SandboxStartError(f"the sandbox did not start within {self.start_timeout:.0f}s; it said:\n{said}")

    def _drain(self, stream: IO[str] | None) -> None:
        if stream is None:
            return
        with stream:
            for line in stream:
                line = line.rstrip("\n")
                self.output.append(line)
                del self.output[:-200]
                log.info("sandbox: %s", line)

    def stop(self) -> None:
        """Stop the sandbox (SIGTERM, then SIGKILL after 10 s) and remove a temporary data directory."""
        self._halt()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def kill(self) -> None:
        """Kill the sandbox process with SIGKILL (for crash tests); keep its data directory."""
        if self._proc is None:
            raise RuntimeError("kill() needs a sandbox started in a child process")
        self._proc.send_signal(signal.SIGKILL)
        self._terminate(self._proc)
        self._proc = None

    def restart(self) -> Sandbox:
        """Stop if running, then start again on the same data directory and ports."""
        self._halt()
        self.config.grpc_port, self.config.http_port = self.grpc_port, self.http_port
        return self.start()

    def _halt(self) -> None:
        """Stop the in-process server or the child process, whichever runs; keep the data directory."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._proc is not None:
            self._terminate(self._proc)
            self._proc = None

    def _terminate(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        if self._log_thread is not None:
            self._log_thread.join(5)  # it closes stdout when it reaches EOF
            self._log_thread = None
        elif proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
