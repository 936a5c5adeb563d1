"""SQLite persistence for the workflow engine: instances, history, inbox (with visible-time) and activity tasks.

Rules: WAL with ``synchronous=FULL``; every engine change is written through one ``Batch`` committed
in a single transaction, so a kill -9 leaves either the whole turn or none of it. The store keeps no
state of its own beyond its connections; the hub holds the live instances in memory and serializes
access. Finished instances live only here: :class:`Reader` (a second connection, so reads never
share the committer's transaction) loads one on demand and pages through instance ids.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import EngineError, InboxItem, Instance
from .messages import pb

log = logging.getLogger("dapr_nb.sandbox.workflow")

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL, pos INTEGER NOT NULL, event BLOB NOT NULL, PRIMARY KEY (instance_id, pos)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, generation INTEGER NOT NULL,
    visible_at REAL NOT NULL, event BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox (instance_id);
CREATE TABLE IF NOT EXISTS tasks (
    instance_id TEXT NOT NULL, generation INTEGER NOT NULL, task_id INTEGER NOT NULL, request BLOB NOT NULL,
    PRIMARY KEY (instance_id, generation, task_id)
) WITHOUT ROWID;
"""


@dataclass
class StoredTask:
    """A pending activity as persisted: owner instance, generation, task id and the ActivityRequest."""

    instance_id: str
    generation: int
    task_id: int
    request: Any


@dataclass
class Batch:
    """Statements for one transaction, collected while the hub mutates its in-memory state."""

    ops: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    instance_ids: set[str] = field(default_factory=set)
    """Instances whose row this batch writes or deletes."""

    def put_instance(self, inst: Instance) -> None:
        """Insert or replace the instance's metadata row."""
        self.instance_ids.add(inst.id)
        self.ops.append(("INSERT OR REPLACE INTO instances (id, seq, meta) VALUES (?, ?, ?)",
                         (inst.id, inst.seq, inst.to_meta())))  # fmt: skip

    def append_history(self, instance_id: str, start: int, events: list[Any]) -> None:
        """Append events at positions ``start``, ``start + 1`` …"""
        for offset, event in enumerate(events):
            self.ops.append(("INSERT OR REPLACE INTO history (instance_id, pos, event) VALUES (?, ?, ?)",
                             (instance_id, start + offset, event.SerializeToString())))  # fmt: skip

    def clear_history(self, instance_id: str) -> None:
        """Drop the instance's history (continue-as-new, id reuse, rerun)."""
        self.ops.append(("DELETE FROM history WHERE instance_id = ?", (instance_id,)))

    def add_inbox(self, instance_id: str, item: InboxItem) -> None:
        """Persist an inbox row."""
        sql = "INSERT INTO inbox (id, instance_id, generation, visible_at, event) VALUES (?, ?, ?, ?, ?)"
        blob = item.event.SerializeToString()
        self.ops.append((sql, (item.row, instance_id, item.generation, item.visible_at, blob)))

    def delete_inbox(self, rows: list[int]) -> None:
        """Delete consumed or discarded inbox rows."""
        self.ops.extend(("DELETE FROM inbox WHERE id = ?", (row,)) for row in rows)

    def add_task(self, task: StoredTask) -> None:
        """Persist a pending activity."""
        sql = "INSERT OR REPLACE INTO tasks (instance_id, generation, task_id, request) VALUES (?, ?, ?, ?)"
        self.ops.append((sql, (task.instance_id, task.generation, task.task_id, task.request.SerializeToString())))

    def delete_task(self, instance_id: str, generation: int, task_id: int) -> None:
        """Delete a finished (or abandoned) activity."""
        self.ops.append(("DELETE FROM tasks WHERE instance_id = ? AND generation = ? AND task_id = ?",
                         (instance_id, generation, task_id)))  # fmt: skip

    def delete_tasks_of(self, instance_id: str) -> None:
        """Delete every pending activity of an instance."""
        self.ops.append(("DELETE FROM tasks WHERE instance_id = ?", (instance_id,)))

    def delete_instance(self, instance_id: str) -> None:
        """Delete an instance with its history, inbox and tasks (purge)."""
        self.instance_ids.add(instance_id)
        for table, column in (("instances", "id"), ("history", "instance_id"), ("inbox", "instance_id"),
                              ("tasks", "instance_id")):  # fmt: skip
            self.ops.append((f"DELETE FROM {table} WHERE {column} = ?", (instance_id,)))


Loaded = tuple[dict[str, Instance], list[StoredTask], int, int]
"""What ``WorkflowStore.load`` returns: unfinished instances, pending tasks, next seq, next inbox row id."""


class WorkflowStore:
    """The SQLite file behind the workflow engine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def commit(self, batches: list[Batch]) -> None:
        """Apply batches, in order, in one transaction (no-op when all are empty)."""
        ops = [op for batch in batches for op in batch.ops]
        if not ops:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in ops:
                db.execute(sql, params)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def load(self) -> Loaded:
        """Return the unfinished instances (with history and inbox), pending tasks, and the next seq / inbox row ids.

        Finished instances stay on disk (see :class:`Reader`).
        """
        instances: dict[str, Instance] = {}
        for instance_id, seq, meta in self._db.execute("SELECT id, seq, meta FROM instances ORDER BY seq"):
            record = Instance.from_meta(instance_id, seq, meta)
            if not record.terminal:
                instances[instance_id] = record
        for instance_id, blob in self._db.execute("SELECT instance_id, event FROM history ORDER BY instance_id, pos"):
            inst = instances.get(instance_id)
            if inst is not None:
                inst.history.append(pb.HistoryEvent.FromString(blob))
        max_row = 0
        for row, instance_id, generation, visible_at, blob in self._db.execute(
            "SELECT id, instance_id, generation, visible_at, event FROM inbox ORDER BY id"
        ):
            max_row = max(max_row, row)
            inst = instances.get(instance_id)
            if inst is not None:
                inst.inbox.append(InboxItem(row, pb.HistoryEvent.FromString(blob), visible_at, generation))
        tasks = [
            StoredTask(instance_id, generation, task_id, pb.ActivityRequest.FromString(blob))
            for instance_id, generation, task_id, blob in self._db.execute(
                "SELECT instance_id, generation, task_id, request FROM tasks ORDER BY instance_id, generation, task_id"
            )
        ]
        (max_seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM instances").fetchone()
        return instances, tasks, int(max_seq) + 1, max_row + 1

    def reader(self) -> Reader:
        """Open a read connection to the same file."""
        return Reader(self._path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


class Reader:
    """Reads of what is committed: one finished instance, or a page of instance ids (hub lock held)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)

    def instance(self, instance_id: str) -> Instance | None:
        """Return the committed instance with its history and inbox, or None."""
        row = self._db.execute("SELECT seq, meta FROM instances WHERE id = ?", (instance_id,)).fetchone()
        if row is None:
            return None
        inst = Instance.from_meta(instance_id, row[0], row[1])
        history = self._db.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY pos", (instance_id,))
        inst.history = [pb.HistoryEvent.FromString(blob) for (blob,) in history]
        inbox = self._db.execute("SELECT id, generation, visible_at, event FROM inbox WHERE instance_id = ? "
                                 "ORDER BY id", (instance_id,))  # fmt: skip
        inst.inbox = [InboxItem(r, pb.HistoryEvent.FromString(b), v, g) for r, g, v, b in inbox]
        return inst

    def ids_after(self, after: int, limit: int | None) -> list[tuple[str, int]]:
        """Return (id, seq) of committed instances with seq > ``after`` in seq order, at most ``limit``."""
        sql = "SELECT id, seq FROM instances WHERE seq > ? ORDER BY seq"
        params: tuple[int, ...] = (after,)
        if limit is not None:
            sql, params = sql + " LIMIT ?", (after, limit)
        return [(str(i), int(q)) for i, q in self._db.execute(sql, params)]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


class NotDurable(EngineError):
    """A change the store did not make durable: ``INTERNAL`` when SQLite refused it, ``UNAVAILABLE`` after close."""


class Committer:
    """Group commit: batches are queued in order and one thread writes all queued batches per transaction.

    ``submit`` is called under the hub's lock (so queue order is mutation order) and returns a ticket;
    RPC handlers ``wait`` for their ticket after releasing the lock, so nothing is acknowledged before it
    is durable while the lock is never held across an fsync. When a transaction fails, its tickets and
    every later one raise :class:`NotDurable`: memory has moved past the disk, so later batches are not
    written either and the file keeps the last whole turn; restarting the sandbox reloads it.
    """

    def __init__(self, store: WorkflowStore) -> None:
        self._store = store
        self._cv = threading.Condition()
        self._queue: list[Batch] = []
        self._submitted = 0
        self._durable = 0
        self._failed: NotDurable | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dapr-nb-wf-commit", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> int:
        """Queue a batch; return the ticket to wait for (empty batches wait for nothing new)."""
        with self._cv:
            if batch.ops:
                self._submitted += 1
                if self._closed and self._failed is None:
                    self._failed = NotDurable("UNAVAILABLE", "the sandbox is shutting down; the change was not saved")
                if self._failed is None:
                    self._queue.append(batch)
                    self._cv.notify_all()
            return self._submitted

    def wait(self, ticket: int) -> None:
        """Block until every batch up to ``ticket`` is on disk; raise NotDurable if one of them never will be."""
        with self._cv:
            while self._durable < ticket and self._failed is None:
                self._cv.wait()
            if self._durable < ticket:
                assert self._failed is not None
                raise self._failed

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                batches, self._queue = self._queue, []
                upto = self._submitted
            try:
                self._store.commit(batches)
            except Exception as exc:  # noqa: BLE001 - reported to every waiting RPC, not raised here
                log.error("writing workflow state failed: %s; refusing further changes until restart", exc)
                failed = NotDurable("INTERNAL", f"the workflow store could not save the change: {exc}; "
                                    "restart the sandbox to reload the last saved state")  # fmt: skip
                with self._cv:
                    self._failed, self._queue = failed, []
                    self._cv.notify_all()
                continue
            with self._cv:
                self._durable = upto
                self._cv.notify_all()

    @property
    def durable(self) -> int:
        """Return the last ticket whose batch is on disk."""
        with self._cv:
            return self._durable

    def close(self) -> None:
        """Write what is queued, stop the thread and close the store."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(30)
        self._store.close()
