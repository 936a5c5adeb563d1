"""Jobs: the Dapr scheduler's side of the jobs API, kept durably in SQLite.

Rules: jobs are validated exactly as the scheduler (``diagridio/go-etcd-cron``) validates them -
names (each ``||`` segment an RFC 1123 subdomain once ``_ : -`` and spaces are dropped), schedules
(6-field cron with seconds, ``@every <Go duration>``, ``@yearly``/``@annually``/``@monthly``/
``@weekly``/``@daily``/``@midnight``/``@hourly``, optional ``TZ=`` prefix), due times and TTLs
(RFC 3339, Go duration, or ISO 8601 duration without repetitions) - and answer the scheduler's error
texts. A relative due time or TTL is resolved when the job is stored and kept across restarts.

Delivery: daprd triggers a due job by calling the *application* (``/job/<name>`` or
``OnJobEventAlpha1``). The sandbox has no app channel, so - like daprd while no app is
connected - due jobs are never delivered: they stay stored and listed until deleted.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .durations import go_quote, parse_go_duration, parse_iso8601_duration

log = logging.getLogger("dapr_nb.sandbox")


class JobValidationError(ValueError):
    """The scheduler rejected a job; the message is the scheduler's."""


class JobExistsError(Exception):
    """A job with this name exists and overwrite was not requested."""


@dataclass(frozen=True)
class JobTiming:
    """When a job runs, as the API gives it (``None`` = field not set)."""

    schedule: str | None = None
    due_time: str | None = None
    ttl: str | None = None
    repeats: int | None = None


@dataclass(frozen=True)
class StoredJob:
    """A stored job: its key, opaque payload, and the instants resolved when it was stored."""

    key: str
    payload: bytes
    created: float
    begin: float | None
    expiration: float | None


class JobScheduler:
    """Persistent job definitions in SQLite, keyed like the scheduler (``app||<ns>||<app-id>||<name>``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, payload BLOB NOT NULL, created REAL NOT NULL,"
            " begin_at REAL, expiration REAL)"
        )
        self._warned = False

    def add(self, key: str, timing: JobTiming, payload: bytes, overwrite: bool) -> StoredJob:
        """Validate and store a job; raise JobValidationError or JobExistsError with the scheduler's message."""
        validate_name(key)
        now = time.time()
        begin, expiration = validate_timing(timing, now)
        job = StoredJob(key, payload, now, begin, expiration)
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        with self._lock:
            cursor = self._db.execute(
                f"{verb} INTO jobs (key, payload, created, begin_at, expiration) VALUES (?, ?, ?, ?, ?)",
                (key, payload, now, begin, expiration),
            )
        if cursor.rowcount == 0:
            raise JobExistsError(f"job already exists: '{key}'")
        self._note_undelivered(key)
        return job

    def get(self, key: str) -> StoredJob | None:
        """Return the job stored under ``key``, or None."""
        validate_name(key)
        with self._lock:
            row = self._db.execute(
                "SELECT key, payload, created, begin_at, expiration FROM jobs WHERE key = ?", (key,)
            ).fetchone()
        return StoredJob(*row) if row else None

    def delete(self, key: str) -> None:
        """Delete a job; deleting a missing job is not an error."""
        validate_name(key)
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE key = ?", (key,))

    def delete_prefix(self, prefix: str, name_prefix: str) -> int:
        """Delete every job whose key starts with ``prefix + name_prefix``; return how many went."""
        if name_prefix:
            validate_name(prefix + name_prefix + "a")
        full = prefix + name_prefix
        with self._lock:
            cursor = self._db.execute("DELETE FROM jobs WHERE substr(key, 1, ?) = ?", (len(full), full))
        return cursor.rowcount

    def list(self, prefix: str) -> list[StoredJob]:
        """Return the jobs whose key starts with ``prefix``, in key order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, payload, created, begin_at, expiration FROM jobs WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            ).fetchall()
        return [StoredJob(*row) for row in rows]

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._db.close()

    def _note_undelivered(self, key: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("jobs are stored but never delivered: the sandbox has no app channel to trigger them on")
        log.info("job %s stored (not delivered: no app channel)", key)


# --- names -------------------------------------------------------------------------------------------------

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def validate_name(key: str) -> None:
    """Check a full job key as the scheduler's validator does."""
    if not key:
        raise JobValidationError("job name cannot be empty")
    clean = key
    for char in "_:- ":
        clean = clean.replace(char, "")
    for segment in clean.lower().split("||"):
        problems = []
        if len(segment) > 253:
            problems.append("must be no more than 253 characters")
        if not _SUBDOMAIN.fullmatch(segment):
            problems.append(_SUBDOMAIN_MSG)
        if problems:
            raise JobValidationError(f"job name is invalid {go_quote(clean)}: {', '.join(problems)}")


# --- timing ------------------------------------------------------------------------------------------------


def validate_timing(timing: JobTiming, now: float) -> tuple[float | None, float | None]:
    """Validate a job's timing; return (begin, expiration) as epoch seconds (begin None = from now)."""
    try:
        return _resolve(timing, now)
    except ValueError as exc:
        raise JobValidationError(f"job failed validation: {exc}") from exc


def _resolve(t: JobTiming, now: float) -> tuple[float | None, float | None]:
    if t.due_time is None and t.schedule is None:
        raise ValueError("job must have either a due time or a schedule")
    if t.schedule is None and (t.repeats or 0) > 1:
        raise ValueError("job must have a schedule to repeat")
    if t.repeats is not None and t.repeats < 1:
        raise ValueError("defined repeats must be greater than 0")
    if t.schedule is None and t.ttl is not None:
        raise ValueError("job must have a schedule to have a ttl")
    if t.schedule is not None:
        parse_schedule(t.schedule)
    begin = parse_point_in_time(t.due_time, now) if t.due_time is not None else None
    expiration = None
    if t.ttl is not None:
        try:
            expiration = parse_point_in_time(t.ttl, begin if begin is not None else now)
        except ValueError:
            raise ValueError("ttl format not recognized") from None
        if begin is not None and begin > expiration:
            raise ValueError("ttl must be greater than due time")
    return begin, expiration


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))"
)


def parse_point_in_time(text: str, now: float) -> float:
    """Parse RFC 3339, a Go duration or an ISO 8601 duration relative to ``now``; return epoch seconds."""
    moment = parse_rfc3339(text)
    if moment is not None:
        return moment
    try:
        return now + parse_go_duration(text) / 1e9
    except ValueError:
        pass
    try:
        years, months, days, nanos, repeats = parse_iso8601_duration(text)
    except ValueError:
        raise ValueError("due time format not recognized") from None
    if repeats > 0:
        raise ValueError("repeats not supported for due time")
    return add_date(now, years, months, days) + nanos / 1e9


def parse_rfc3339(text: str) -> float | None:
    """Return epoch seconds for an RFC 3339 timestamp, or None if ``text`` is not one."""
    found = _RFC3339.fullmatch(text)
    if not found:
        return None
    year, month, day, hour, minute, second = (int(found[i]) for i in range(1, 7))
    try:
        stamp = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = 0
    if found[8]:
        hours, minutes = int(found[9]), int(found[10])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * 60 * (1 if found[8] == "+" else -1)
    fraction = int((found[7] or "0").ljust(9, "0")) / 1e9
    return stamp.timestamp() - offset + fraction


def add_date(epoch: float, years: int, months: int, days: int) -> float:
    """Add calendar years, months and days in UTC, normalising overflow as Go's ``AddDate`` does."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    month_index = moment.month - 1 + months
    year = moment.year + years + month_index // 12
    first = moment.replace(year=year, month=month_index % 12 + 1, day=1)
    return (first + timedelta(days=moment.day - 1 + days)).timestamp()


# --- schedules ---------------------------------------------------------------------------------------------

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_NO_NAMES: dict[str, int] = {}
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, _NO_NAMES),  # seconds
    (0, 59, _NO_NAMES),  # minutes
    (0, 23, _NO_NAMES),  # hours
    (1, 31, _NO_NAMES),  # day of month
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def parse_schedule(spec: str) -> None:
    """Check a schedule as dapr/kit's cron parser (seconds field, descriptors) does; raise ValueError."""
    if not spec:
        raise ValueError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        spec = _strip_timezone(spec)
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return
        if spec.startswith("@every "):
            try:
                parse_go_duration(spec[len("@every ") :])
            except ValueError as exc:
                raise ValueError(f"failed to parse duration {spec}: {exc}") from None
            return
        raise ValueError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) != 6:
        raise ValueError(f"expected exactly 6 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, bounds in zip(fields, _FIELDS, strict=True):
        for expr in (e for e in text.split(",") if e):
            _check_range(expr, *bounds)


def _strip_timezone(spec: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - only for TZ= schedules

    space = spec.find(" ")
    name = spec[spec.find("=") + 1 : space if space >= 0 else len(spec)]
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"provided bad location {name}: unknown time zone {name}") from None
    return spec[space:].strip() if space >= 0 else ""


def _check_range(expr: str, low: int, high: int, names: dict[str, int]) -> None:
    range_step = expr.split("/")
    bounds = range_step[0].split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _number(bounds[0], names)
        if len(bounds) > 2:
            raise ValueError(f"too many hyphens: {expr}")
        end = _number(bounds[1], names) if len(bounds) == 2 else start
    step = 1
    if len(range_step) == 2:
        step = _number(range_step[1], {})
        if len(bounds) == 1:
            end = high
    elif len(range_step) > 2:
        raise ValueError(f"too many slashes: {expr}")
    if start < low:
        raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ValueError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'failed to parse int from {text}: strconv.Atoi: parsing {go_quote(text)}: invalid syntax')
    value = int(text)
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {text}")
    return value
