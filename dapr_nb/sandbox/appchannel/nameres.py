"""Name resolution between sandboxes on one machine: a directory of small JSON entries, like self-hosted mDNS.

Rules: each running sandbox writes ``<app-id>.<pid>.<http-port>.json`` (mode 0600: it holds the
secret other sandboxes present on the internal hop) into :func:`registry_dir` and removes it on
stop; an entry whose pid is gone is stale and ignored (and deleted when seen). The directory is
``$DAPR_NB_NAMERES_DIR``, else ``~/.dapr_nb/nameresolution``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("dapr_nb.sandbox.appchannel")

ENV = "DAPR_NB_NAMERES_DIR"


def registry_dir() -> Path:
    """Return the directory sandboxes register in (``$DAPR_NB_NAMERES_DIR`` or ``~/.dapr_nb/nameresolution``)."""
    raw = os.environ.get(ENV, "").strip()
    return Path(raw) if raw else Path.home() / ".dapr_nb" / "nameresolution"


@dataclass(frozen=True)
class Entry:
    """One sandbox as other sandboxes find it."""

    app_id: str
    pid: int
    host: str
    http_port: int
    grpc_port: int
    secret: str
    """What a calling sandbox sends as ``dapr-nb-internal-token`` on the internal hop."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry:
    """Register this sandbox and look others up, in one directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or registry_dir()
        self._mine: Path | None = None

    def register(self, entry: Entry) -> None:
        """Write this sandbox's entry (atomically, readable only by this user)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{entry.app_id}.{entry.pid}.{entry.http_port}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(entry), handle)
        os.replace(tmp, path)
        self._mine = path

    def unregister(self) -> None:
        """Remove this sandbox's entry."""
        if self._mine is not None:
            self._mine.unlink(missing_ok=True)
            self._mine = None

    def lookup(self, app_id: str) -> Entry | None:
        """Return the newest live entry for ``app_id``; stale entries of dead pids are removed."""
        found: list[tuple[float, Entry]] = []
        for path in self.directory.glob(f"{_glob_safe(app_id)}.*.json"):
            entry = _read(path)
            if entry is None or entry.app_id != app_id:
                continue
            if not _alive(entry.pid):
                path.unlink(missing_ok=True)
                continue
            try:
                found.append((path.stat().st_mtime, entry))
            except OSError:
                continue
        return max(found, key=lambda item: item[0])[1] if found else None


def _glob_safe(app_id: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in app_id)


def _read(path: Path) -> Entry | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Entry(
            app_id=str(raw["app_id"]), pid=int(raw["pid"]), host=str(raw["host"]),
            http_port=int(raw["http_port"]), grpc_port=int(raw["grpc_port"]), secret=str(raw["secret"]),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
