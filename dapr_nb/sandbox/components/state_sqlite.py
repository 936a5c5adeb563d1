"""Embedded state stores: ``state.sqlite`` (a database file, or ``:memory:``) and ``state.in-memory``.

Rules: both types run on one engine, :class:`SqliteEngine`, with components-contrib's state.sqlite table
(``key, value, is_binary, etag, expiration_time, update_time``; values as JSON text or base64 with
``is_binary``; times as UTC ``YYYY-MM-DD HH:MM:SS[.fff]``). One connection, guarded by a lock; every write is its own
``BEGIN IMMEDIATE`` transaction; files use WAL with ``synchronous=FULL``, so an acknowledged write survives
``kill -9``. Expired rows are invisible at once and purged every ``cleanupInterval``. Keys arrive already
prefixed by the building block. Failures are contrib's: :class:`ETagError` for etag conflicts and
:class:`StateStoreError` (the component's message) for the rest. A relative ``connectionString`` path is
resolved against the sandbox's data directory, not the working directory.
"""

from __future__ import annotations

import base64
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

from .. import gojson
from ..durations import metadata_seconds
from ..errors import ComponentError
from ..resources import ComponentSpec
from . import BuildContext, Component

log = logging.getLogger("dapr_nb.sandbox")

FIRST_WRITE, LAST_WRITE = "first-write", "last-write"
STRONG, EVENTUAL = "strong", "eventual"
TTL_KEY = "ttlInSeconds"
TTL_EXPIRE_TIME = "ttlExpireTime"


class StateStoreError(Exception):
    """A state store failure; ``str()`` is the component's message, as daprd quotes it."""


class ETagError(StateStoreError):
    """contrib's ETagError: ``kind`` is ``mismatch`` (ABORTED / 409) or ``invalid`` (INVALID_ARGUMENT / 400)."""

    def __init__(self, kind: str = "mismatch", inner: str = "") -> None:
        prefix = "invalid etag value" if kind == "invalid" else "possible etag mismatch. error from state store"
        super().__init__(f"{prefix}: {inner}" if inner else prefix)
        self.kind = kind


@dataclass(frozen=True)
class SetRequest:
    """Save one key. ``bytes`` values are stored as binary; any other value as its JSON text."""

    key: str
    value: object = b""
    etag: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    concurrency: str = ""
    consistency: str = ""


@dataclass(frozen=True)
class DeleteRequest:
    """Delete one key; a non-empty ``etag`` makes the delete conditional."""

    key: str
    etag: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    concurrency: str = ""
    consistency: str = ""


@dataclass(frozen=True)
class StoredItem:
    """A key as read back: ``data`` is None when the key is missing or expired."""

    key: str
    data: bytes | None = None
    etag: str | None = None
    expires: datetime | None = None

    @property
    def metadata(self) -> dict[str, str]:
        """Return ``{"ttlExpireTime": RFC 3339}`` when the item has a TTL, as contrib's stores do."""
        if self.expires is None:
            return {}
        return {TTL_EXPIRE_TIME: self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


@dataclass(frozen=True)
class Row:
    """A live row as the query engine reads it."""

    key: str
    data: bytes
    etag: str


def check_options(concurrency: str, consistency: str) -> None:
    """Reject option keywords contrib does not know."""
    if consistency not in ("", STRONG, EVENTUAL):
        raise StateStoreError(f"unrecognized consistency model '{consistency}'")
    if concurrency not in ("", FIRST_WRITE, LAST_WRITE):
        raise StateStoreError(f"unrecognized concurrency model '{concurrency}'")


def parse_ttl(metadata: Mapping[str, str]) -> int | None:
    """Parse ``ttlInSeconds`` (-1 = never expire) with contrib's messages."""
    raw = metadata.get(TTL_KEY, "")
    if raw == "":
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise StateStoreError(
            f"error parsing TTL: incorrect value for metadata '{TTL_KEY}': "
            f'strconv.ParseInt: parsing "{raw}": invalid syntax'
        )
    value = int(raw)
    if value < -1 or value > 2**31 - 1:
        raise StateStoreError(f"error parsing TTL: incorrect value for metadata '{TTL_KEY}': must be -1 or greater")
    return value


def _encode(value: object) -> tuple[str, bool]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii"), True
    try:
        return gojson.dumps(value), False
    except gojson.UnsupportedValueError as exc:
        raise StateStoreError(str(exc)) from exc


def _decode(text: str | bytes, is_binary: int) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if not is_binary:
        return raw
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise StateStoreError(f"failed to decode binary data: {exc}") from exc


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    cleaned = str(text).replace("T", " ").rstrip("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


_LIVE = "(expiration_time IS NULL OR expiration_time > ?)"


class SqliteEngine:
    """contrib's state.sqlite semantics over one SQLite connection; every public method is thread-safe."""

    def __init__(
        self,
        target: str,
        *,
        table: str = "state",
        memory: bool = False,
        wal: bool = True,
        read_only: bool = False,
        busy_timeout: float = 2.0,
        pragmas: Sequence[str] = (),
        cleanup_interval: float = 0.0,
    ) -> None:
        self.table = table
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            target, uri=not memory, timeout=busy_timeout, check_same_thread=False, isolation_level=None
        )
        self._setup(memory=memory, wal=wal, read_only=read_only, busy_timeout=busy_timeout, pragmas=pragmas)
        self._closed = threading.Event()
        self._gc: threading.Thread | None = None
        if cleanup_interval > 0:
            self._gc = threading.Thread(
                target=self._gc_loop, args=(cleanup_interval,), name=f"dapr-nb-state-gc-{table}", daemon=True
            )
            self._gc.start()

    def _setup(self, *, memory: bool, wal: bool, read_only: bool, busy_timeout: float, pragmas: Sequence[str]) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if memory:
            conn.execute("PRAGMA journal_mode = MEMORY")
        elif not read_only:
            conn.execute(f"PRAGMA journal_mode = {'WAL' if wal else 'DELETE'}")
        conn.execute("PRAGMA synchronous = FULL")
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}")
        if not read_only:
            conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {self.table} (
                    key TEXT NOT NULL PRIMARY KEY,
                    value TEXT NOT NULL,
                    is_binary BOOLEAN NOT NULL,
                    etag TEXT NOT NULL,
                    expiration_time TIMESTAMP DEFAULT NULL,
                    update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                )"""
            )

    @staticmethod
    def _now() -> datetime:
        return datetime.now(timezone.utc)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateStoreError(f"failed to begin transaction: {exc}") from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def get(self, key: str) -> StoredItem:
        """Return the live item for ``key`` (empty when missing or expired)."""
        if not key:
            raise StateStoreError("missing key in get operation")
        return self.bulk_get([key])[0]

    def bulk_get(self, keys: Sequence[str]) -> list[StoredItem]:
        """Return one item per requested key, in request order; missing keys come back empty."""
        if not keys:
            return []
        unique = list(dict.fromkeys(keys))
        found: dict[str, StoredItem] = {}
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._query(
                    f"SELECT key, value, is_binary, etag, expiration_time FROM {self.table} "
                    f"WHERE key IN ({marks}) AND {_LIVE}",
                    (*chunk, _stamp(self._now())),
                )
                for key, value, is_binary, etag, expires in rows:
                    found[key] = StoredItem(key, _decode(value, is_binary), etag, _parse_stamp(expires))
        return [found.get(key, StoredItem(key)) for key in keys]

    def _query(self, sql: str, args: Sequence[Any]) -> list[Any]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StateStoreError(str(exc)) from exc

    def set(self, req: SetRequest) -> None:
        """Save one key in its own transaction."""
        self.multi([req])

    def delete(self, req: DeleteRequest) -> None:
        """Delete one key in its own transaction."""
        self.multi([req])

    def multi(self, ops: Sequence[SetRequest | DeleteRequest]) -> None:
        """Apply every operation atomically: the first failure rolls all of them back."""
        if not ops:
            return
        try:
            with self._write() as conn:
                now = self._now()
                for op in ops:
                    if isinstance(op, SetRequest):
                        self._set(conn, op, now)
                    else:
                        self._delete(conn, op)
        except sqlite3.Error as exc:
            raise StateStoreError(str(exc)) from exc

    def _set(self, conn: sqlite3.Connection, req: SetRequest, now: datetime) -> None:
        check_options(req.concurrency, req.consistency)
        if not req.key:
            raise StateStoreError("missing key in set option")
        ttl = parse_ttl(req.metadata)
        value, is_binary = _encode(req.value)
        etag = str(uuid.uuid4())
        expires = _stamp(now + timedelta(seconds=ttl)) if ttl and ttl > 0 else None
        live = (req.key, _stamp(now))
        if not req.etag and req.concurrency == FIRST_WRITE:
            if conn.execute(f"SELECT 1 FROM {self.table} WHERE key = ? AND {_LIVE}", live).fetchone():
                raise ETagError()
        if not req.etag:
            conn.execute(
                f"INSERT OR REPLACE INTO {self.table} (key, value, is_binary, etag, update_time, expiration_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (req.key, value, is_binary, etag, _stamp(now), expires),
            )
            return
        cursor = conn.execute(
            f"UPDATE {self.table} SET value = ?, etag = ?, is_binary = ?, update_time = ?, expiration_time = ? "
            f"WHERE key = ? AND etag = ? AND {_LIVE}",
            (value, etag, is_binary, _stamp(now), expires, req.key, req.etag, _stamp(now)),
        )
        if cursor.rowcount == 0:
            raise ETagError()

    def _delete(self, conn: sqlite3.Connection, req: DeleteRequest) -> None:
        check_options(req.concurrency, req.consistency)
        if not req.key:
            raise StateStoreError("missing key in delete operation")
        if not req.etag:
            conn.execute(f"DELETE FROM {self.table} WHERE key = ?", (req.key,))
            return
        cursor = conn.execute(f"DELETE FROM {self.table} WHERE key = ? AND etag = ?", (req.key, req.etag))
        if cursor.rowcount == 0:
            raise ETagError()

    def rows(self, prefix: str) -> list[Row]:
        """Return every live row whose key starts with ``prefix``, in key order (for the query API)."""
        with self._lock:
            found = self._query(
                f"SELECT key, value, is_binary, etag FROM {self.table} "
                f"WHERE substr(key, 1, ?) = ? AND {_LIVE} ORDER BY key",
                (len(prefix), prefix, _stamp(self._now())),
            )
        return [Row(key, _decode(value, is_binary), etag) for key, value, is_binary, etag in found]

    def purge_expired(self) -> int:
        """Delete expired rows now; return how many."""
        with self._write() as conn:
            cursor = conn.execute(
                f"DELETE FROM {self.table} WHERE expiration_time IS NOT NULL AND expiration_time < ?",
                (_stamp(self._now()),),
            )
            return cursor.rowcount

    def _gc_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                purged = self.purge_expired()
            except (StateStoreError, sqlite3.Error):
                log.exception("purging expired state from table %s failed", self.table)
                continue
            if purged:
                log.debug("purged %d expired state rows from %s", purged, self.table)

    def close(self) -> None:
        """Stop the purge thread and close the connection."""
        self._closed.set()
        if self._gc is not None:
            self._gc.join(timeout=5)
        with self._lock:
            self._conn.close()


def parse_duration(raw: str, name: str, default: float) -> float:
    """Read a duration field as contrib's metadata decoder does (a Go duration, or whole seconds)."""
    try:
        seconds = metadata_seconds(raw)
    except ValueError:
        raise ComponentError(f"invalid value for {name!r}: {raw!r} is not a duration such as 20s, 500ms or 1m, "
                             "nor whole seconds") from None  # fmt: skip
    return default if seconds is None else seconds


_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")
_PRAGMA = re.compile(r"(\w+)(?:\(([\w.-]+)\))?")
_FORBIDDEN = {
    "busy_timeout": "; use the busyTimeout metadata property",
    "journal_mode": "; use the disableWAL metadata property",
    "foreign_keys": "",
}


@dataclass(frozen=True)
class Target:
    """Where the database lives, as ``sqlite3.connect`` needs it."""

    uri: str
    memory: bool
    read_only: bool
    pragmas: tuple[str, ...]


def resolve_target(connection_string: str, data_dir: Path) -> Target:
    """Turn contrib's ``connectionString`` (path, ``file:`` URI, ``:memory:``) into a SQLite target."""
    lowered = connection_string.lower()
    path, _, query = connection_string.partition("?")
    params = parse_qs(query, keep_blank_values=True)
    pragmas = _pragmas(params.pop("_pragma", []))
    params.pop("_txlock", None)
    if lowered.startswith(":memory:") or lowered.startswith("file::memory:"):
        return Target(":memory:", True, False, pragmas)
    if lowered.startswith("file:"):
        path = path[len("file:") :]
        if path.startswith("//"):
            path = path[2:].partition("/")[2]
            path = "/" + path
    file = Path(unquote(path)).expanduser()
    if not file.is_absolute():
        file = data_dir / file
    file.parent.mkdir(parents=True, exist_ok=True)
    read_only = params.get("mode", [""])[0] == "ro" or params.get("immutable", [""])[0] == "1"
    uri = "file:" + quote(str(file)) + (("?" + urlencode(params, doseq=True)) if params else "")
    return Target(uri, False, read_only, pragmas)


def _pragmas(values: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        match = _PRAGMA.fullmatch(value.strip())
        if match is None:
            raise ComponentError(f"invalid '_pragma={value}' in the connection string")
        name, arg = match.group(1).lower(), match.group(2)
        if name in _FORBIDDEN:
            raise ComponentError(f"found forbidden option '_pragma={name}' in the connection string{_FORBIDDEN[name]}")
        found.append(f"{name} = {arg}" if arg is not None else name)
    return tuple(found)


class SqlStateStore(Component):
    """What the state building block relies on: an engine, the key prefix strategy and the query switch."""

    supports_query = False
    features: tuple[str, ...] = ()

    def __init__(self, spec: ComponentSpec, engine: SqliteEngine) -> None:
        super().__init__(spec)
        self.engine = engine
        self.key_prefix = key_prefix_strategy(spec)

    def capabilities(self) -> list[str]:
        """Return the component's features plus ACTOR, which daprd adds to every ETAG + TRANSACTIONAL store."""
        return [*self.features, "ACTOR"]

    def close(self) -> None:
        """Close the database."""
        self.engine.close()


def key_prefix_strategy(spec: ComponentSpec) -> str:
    """Return the lower-cased ``keyPrefix`` strategy (daprd lower-cases literal prefixes too)."""
    strategy = spec.get("keyPrefix", "appid").lower() or "appid"
    if "||" in strategy:
        raise ComponentError(
            f"component {spec.name!r} ({spec.source}): input key/keyPrefix '{strategy}' can't contain '||'"
        )
    return strategy


class SqliteStateStore(SqlStateStore):
    """``state.sqlite``: a SQLite file (or ``:memory:``) with contrib's schema, plus the query API."""

    supports_query = True
    features = ("ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "QUERY_API")

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> SqliteStateStore:
        """Open (or create) the database named by ``connectionString``."""
        conn = spec.get("connectionString") or spec.get("url")
        if not conn:
            raise ComponentError(
                f"component {spec.name!r} ({spec.source}): state.sqlite needs a connectionString "
                "(a file path, a file: URI or ':memory:')"
            )
        table = spec.get("tableName", "state") or "state"
        for name, value in (("tableName", table), ("metadataTableName", spec.get("metadataTableName", "metadata"))):
            if not _IDENTIFIER.fullmatch(value):
                raise ComponentError(f"component {spec.name!r} ({spec.source}): invalid identifier for {name}: {value}")
        timeout = parse_duration(spec.get("timeout") or spec.get("timeoutInSeconds"), "timeout", 20.0)
        if timeout < 1:
            raise ComponentError(f"component {spec.name!r}: invalid value for 'timeout': must be greater than 1s")
        cleanup = spec.get("cleanupInterval") or spec.get("cleanupIntervalInSeconds")
        target = resolve_target(conn, ctx.data_dir)
        engine = SqliteEngine(
            target.uri,
            table=table,
            memory=target.memory,
            wal=not spec.get_bool("disableWAL"),
            read_only=target.read_only,
            busy_timeout=parse_duration(spec.get("busyTimeout"), "busyTimeout", 2.0),
            pragmas=target.pragmas,
            cleanup_interval=parse_duration(cleanup, "cleanupInterval", 3600.0),
        )
        return cls(spec, engine)


class InMemoryStateStore(SqlStateStore):
    """``state.in-memory``: the same engine on a private ``:memory:`` database; no query API, as in contrib."""

    features = ("ETAG", "TRANSACTIONAL", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE")

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> InMemoryStateStore:
        """Create an empty in-memory store (expired items are purged every second, as contrib does)."""
        return cls(spec, SqliteEngine(":memory:", memory=True, cleanup_interval=1.0))
