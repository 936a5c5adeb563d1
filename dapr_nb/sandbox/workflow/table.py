"""The engine's instances: unfinished ones in memory, finished ones in SQLite, read back on demand.

Rules: memory holds every unfinished instance and every instance whose latest change is not yet
durable (a read of SQLite would miss it), plus a small LRU of finished instances read back; a
finished instance leaves memory once the batch that finished it is on disk (:meth:`settle`), so
memory is bounded by live work, not by history. Purged ids are remembered until their deletion is
durable, so a read never brings them back. Called only with the hub's lock held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from .engine import Instance
from .store import Batch, Reader

READ_CACHE = 64
"""Finished instances kept after a read (a client polling one instance does not hit SQLite each time)."""


class InstanceTable:
    """A dict-like view of every instance (``get``, ``in``, ``[id] = inst``, ``del``) over memory and SQLite."""

    def __init__(self, live: dict[str, Instance], reader: Reader) -> None:
        self._live = live
        self._reader = reader
        self._unsaved: dict[str, int] = {}
        """Ids whose latest write or delete waits in the committer: id -> ticket."""
        self._deleted: set[str] = set()
        self._read: OrderedDict[str, Instance] = OrderedDict()

    def get(self, instance_id: str) -> Instance | None:
        """Return the instance, reading a finished one back from SQLite; None when unknown or purged."""
        inst = self._live.get(instance_id)
        if inst is not None or instance_id in self._deleted:
            return inst
        inst = self._read.get(instance_id)
        if inst is None:
            inst = self._reader.instance(instance_id)
            if inst is None:
                return None
            self._read[instance_id] = inst
            while len(self._read) > READ_CACHE:
                self._read.popitem(last=False)
        self._read.move_to_end(instance_id)
        return inst

    def __contains__(self, instance_id: object) -> bool:
        return isinstance(instance_id, str) and self.get(instance_id) is not None

    def __setitem__(self, instance_id: str, inst: Instance) -> None:
        self._deleted.discard(instance_id)
        self._read.pop(instance_id, None)
        self._live[instance_id] = inst

    def __delitem__(self, instance_id: str) -> None:
        self._live.pop(instance_id, None)
        self._read.pop(instance_id, None)
        self._deleted.add(instance_id)

    def in_memory(self) -> Iterator[Instance]:
        """Iterate the instances held in memory (the unfinished ones and those not yet durable)."""
        return iter(list(self._live.values()))

    def __len__(self) -> int:
        """Return how many instances memory holds (not how many exist)."""
        return len(self._live)

    def written(self, batch: Batch, ticket: int) -> None:
        """Note that ``batch`` (submitted as ``ticket``) writes or deletes its instances' rows."""
        for instance_id in batch.instance_ids:
            self._unsaved[instance_id] = ticket
            self._read.pop(instance_id, None)

    def settle(self, durable: int) -> None:
        """Forget what is on disk up to ticket ``durable``: finished instances leave memory, tombstones go."""
        for instance_id in [i for i, ticket in self._unsaved.items() if ticket <= durable]:
            del self._unsaved[instance_id]
            self._deleted.discard(instance_id)
            inst = self._live.get(instance_id)
            if inst is not None and inst.terminal:
                del self._live[instance_id]

    def ids_after(self, after: int, limit: int | None) -> tuple[list[str], int | None]:
        """Return ids with seq > ``after`` in seq order (at most ``limit``) and the last one's seq if more follow."""
        fetch = None if limit is None else limit + len(self._live) + len(self._deleted) + 1
        seqs = {i: q for i, q in self._reader.ids_after(after, fetch) if i not in self._deleted}
        seqs.update((inst.id, inst.seq) for inst in self._live.values() if inst.seq > after)
        ordered = sorted(seqs, key=lambda i: seqs[i])
        if limit is None or len(ordered) <= limit:
            return ordered, None
        return ordered[:limit], seqs[ordered[limit - 1]]
