"""Jobs (the scheduler API): stored jobs with schedule, due time, repeats and TTL. Filled in by the jobs work."""

from __future__ import annotations

from pathlib import Path


class JobScheduler:
    """Persistent job definitions in SQLite."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        """Release the database."""
