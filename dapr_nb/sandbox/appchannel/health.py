"""App health checks: probe the app on an interval and refuse invocations while it is unhealthy.

Rules (dapr/dapr ``pkg/apphealth/health.go``, ``pkg/config/app_connection.go``): the app starts as
unhealthy and is probed at once, then every ``interval``; ``threshold`` failures in a row make it
unhealthy, one success healthy again. An HTTP app is healthy when ``GET <path>`` answers 2xx within
``timeout``; a gRPC app when ``AppCallbackHealthCheck.HealthCheck`` succeeds. While unhealthy, calls
into the app fail with daprd's ``app is not in a healthy state``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("dapr_nb.sandbox.appchannel")

UNHEALTHY = "app is not in a healthy state"


@dataclass(frozen=True)
class HealthSettings:
    """``--enable-app-health-check`` with ``--app-health-check-path``, interval (s), timeout (ms) and threshold."""

    path: str = "/healthz"
    interval: float = 5.0
    timeout: float = 0.5
    threshold: int = 3

    def metadata(self, protocol: str) -> dict[str, object]:
        """Return daprd's ``appConnectionProperties.health`` (no path for a gRPC app)."""
        health: dict[str, object] = {
            "healthProbeInterval": _go_duration(self.interval),
            "healthProbeTimeout": _go_duration(self.timeout),
            "healthThreshold": self.threshold,
        }
        if protocol == "http":
            health = {"healthCheckPath": self.path, **health}
        return health


def _go_duration(seconds: float) -> str:
    """Return Go's ``time.Duration.String()`` for whole seconds or milliseconds (``5s``, ``500ms``, ``1m0s``)."""
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    whole, rest = divmod(millis, 1000)
    minutes, secs = divmod(whole, 60)
    frac = f".{rest:03d}".rstrip("0") if rest else ""
    return f"{minutes}m{secs}{frac}s" if minutes else f"{secs}{frac}s"


class AppHealth:
    """The probe loop on a daemon thread and the current verdict."""

    def __init__(self, settings: HealthSettings, probe: Callable[[float], bool]) -> None:
        self.settings = settings
        self._probe = probe
        self._failures = settings.threshold
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dapr-nb-app-health", daemon=True)

    @property
    def healthy(self) -> bool:
        """Return whether fewer than ``threshold`` probes in a row failed."""
        with self._lock:
            return self._failures < self.settings.threshold

    def start(self) -> None:
        """Probe every interval from now on (:meth:`probe_once` first gives a verdict at once)."""
        self._thread.start()

    def close(self) -> None:
        """Stop probing."""
        self._stop.set()

    def probe_once(self) -> None:
        """Probe the app and record the result."""
        try:
            ok = self._probe(self.settings.timeout)
        except Exception as exc:  # noqa: BLE001 - any failure to probe is an unhealthy probe, as in daprd
            log.debug("app health probe failed: %s", exc)
            ok = False
        with self._lock:
            was = self._failures < self.settings.threshold
            self._failures = 0 if ok else min(self._failures + 1, self.settings.threshold)
            now = self._failures < self.settings.threshold
        if was != now:
            log.warning("the app entered %s status", "healthy" if now else "un-healthy")

    def _run(self) -> None:
        while not self._stop.wait(self.settings.interval):
            self.probe_once()
