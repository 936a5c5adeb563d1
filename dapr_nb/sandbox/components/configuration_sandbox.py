"""``configuration.sandbox``: a sandbox-only configuration store (daprd has no such type).

Items look like ``{"key": {"value": "…", "version": "…", "metadata": {…}}}`` (a bare string or
number stands for ``{"value": …}``) and come from three sources:

* metadata ``items``: a JSON object, loaded once at start;
* metadata ``itemsFile``: a JSON file of the same shape, watched (size/mtime polled every 250 ms on
  a daemon thread). Only what changed in the file since its last good read is applied: entries
  added or edited are upserted, entries removed from the file are deleted. A file that cannot be
  read or parsed is logged and ignored, keeping the last good items;
* :meth:`SandboxConfigurationStore.set_items` (also served as ``POST
  /v1.0-sandbox/configuration/{store}``): upserts; an item given as ``null`` deletes the key.

Versions: an item given with a ``version`` keeps it; otherwise the key's last version is bumped
(``"1"`` for a new key or a non-numeric last version, else +1). Setting an item to what it already
is changes nothing and notifies no one. Every change reaches the subscribers whose key filter
matches (empty filter = every key) with the changed items only; a deleted key is sent with an
empty value and a bumped version (Redis configuration stores also treat an empty value as absent).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ComponentError
from ..resources import ComponentSpec
from . import BuildContext, Component
from .secrets_local import resolve_path

log = logging.getLogger("dapr_nb.sandbox")

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class ConfigItem:
    """One configuration item as the Dapr API returns it."""

    value: str
    version: str
    metadata: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Render with every field (the sandbox admin route's answer)."""
        return {"value": self.value, "version": self.version, "metadata": dict(self.metadata)}

    def to_daprd_json(self) -> dict[str, Any]:
        """Render as daprd's HTTP API does: struct order, empty fields left out (``omitempty``), metadata sorted."""
        fields = {"value": self.value, "version": self.version, "metadata": dict(sorted(self.metadata.items()))}
        return {k: v for k, v in fields.items() if v}


@dataclass(frozen=True)
class ItemUpdate:
    """A requested upsert: ``version`` None means "bump the last one"."""

    value: str
    version: str | None
    metadata: dict[str, str]


def parse_items(raw: Any) -> dict[str, ItemUpdate | None]:
    """Validate ``{"key": item | "value" | null}``; raise ValueError saying what is wrong."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"items must be a JSON object of key -> item, got {type(raw).__name__}")
    parsed: dict[str, ItemUpdate | None] = {}
    for key, item in raw.items():
        if not isinstance(key, str) or not key:
            raise ValueError("configuration keys must be non-empty strings")
        parsed[key] = None if item is None else _parse_item(key, item)
    return parsed


def _parse_item(key: str, item: Any) -> ItemUpdate:
    if not isinstance(item, Mapping):
        return ItemUpdate(_scalar(key, item), None, {})
    unknown = set(item) - {"value", "version", "metadata"}
    if unknown:
        raise ValueError(f"item {key!r}: unknown fields {sorted(unknown)} (use value, version, metadata)")
    version = item.get("version")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"item {key!r}: metadata must be an object of strings")
    return ItemUpdate(
        _scalar(key, item.get("value", "")),
        None if version is None or version == "" else str(version),
        {str(k): v for k, v in metadata.items()},
    )


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise ValueError(f"item {key!r}: value must be a string, number or boolean")


def _bump(version: str) -> str:
    return str(int(version) + 1) if version.isdigit() else "1"


class ConfigSubscription:
    """A live subscription: changed items arrive through :meth:`updates` until :meth:`close`."""

    def __init__(self, sub_id: str, keys: Iterable[str], forget: Callable[[str], None]) -> None:
        self.id = sub_id
        self.keys = frozenset(keys)
        self._forget = forget
        self._queue: queue.Queue[dict[str, ConfigItem] | None] = queue.Queue()
        self._closed = threading.Event()
        self.on_ready: Callable[[], None] | None = None
        """Called from the changing thread (must not block) after each queued batch and at close."""

    @property
    def closed(self) -> bool:
        """Return True once the subscription was closed or unsubscribed."""
        return self._closed.is_set()

    def offer(self, changes: Mapping[str, ConfigItem]) -> None:
        """Queue the changes this subscription's key filter selects (never blocks)."""
        wanted = {k: v for k, v in changes.items() if not self.keys or k in self.keys}
        if wanted and not self.closed:
            self._queue.put(wanted)
            self._ready()

    def poll(self) -> dict[str, ConfigItem] | None:
        """Return the next queued batch without blocking; None when there is none (see ``closed``)."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _ready(self) -> None:
        if self.on_ready is not None:
            self.on_ready()

    def updates(self, poll: float = 1.0) -> Iterator[dict[str, ConfigItem]]:
        """Yield batches of changed items; return once closed (checked at least every ``poll`` s)."""
        while True:
            try:
                batch = self._queue.get(timeout=poll)
            except queue.Empty:
                if self.closed:
                    return
                continue
            if batch is None:
                return
            yield batch

    def close(self) -> None:
        """Stop the subscription and wake its reader; safe to call more than once, from any thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._forget(self.id)
        self._queue.put(None)
        self._ready()


class SandboxConfigurationStore(Component):
    """Items in memory, fed inline, from a watched JSON file, or by :meth:`set_items`; see the module doc."""

    def __init__(self, spec: ComponentSpec, items_file: Path | None = None) -> None:
        super().__init__(spec)
        self._mutex = threading.RLock()
        self._items: dict[str, ConfigItem] = {}
        self._versions: dict[str, str] = {}
        self._subs: dict[str, ConfigSubscription] = {}
        self._file = items_file
        self._file_items: dict[str, ItemUpdate | None] = {}
        self._file_sig: tuple[int, ...] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> SandboxConfigurationStore:
        """Load inline ``items`` and ``itemsFile``; start watching the file."""
        raw_file = spec.get("itemsFile")
        store = cls(spec, resolve_path(raw_file, spec) if raw_file else None)
        try:
            if spec.get("items"):
                store.set_items(json.loads(spec.get("items")))
            if store._file is not None and store._file.exists():
                store._reload(strict=True)
        except (ValueError, OSError) as exc:
            raise ComponentError(f"component {spec.name!r} ({spec.source}): bad configuration items: {exc}") from exc
        if store._file is not None:
            store._watcher = threading.Thread(target=store._watch, name=f"dapr-nb-config-{spec.name}", daemon=True)
            store._watcher.start()
        return store

    def get(self, keys: Iterable[str] = ()) -> dict[str, ConfigItem]:
        """Return the items named by ``keys`` (missing keys are left out), or every item when ``keys`` is empty."""
        wanted = list(keys)
        with self._mutex:
            if not wanted:
                return dict(self._items)
            return {k: self._items[k] for k in wanted if k in self._items}

    def set_items(self, items: Mapping[str, Any]) -> dict[str, ConfigItem]:
        """Upsert items (``None`` deletes a key), notify subscribers, and return what changed.

        Raises ValueError on a malformed item; nothing is applied then.
        """
        return self._apply(parse_items(items))

    def subscribe(self, keys: Iterable[str] = ()) -> ConfigSubscription:
        """Start a subscription to changes of ``keys`` (every key when empty)."""
        sub = ConfigSubscription(str(uuid.uuid4()), keys, self._forget)
        with self._mutex:
            self._subs[sub.id] = sub
        return sub

    def subscription_ids(self) -> list[str]:
        """Return the ids of the live subscriptions."""
        with self._mutex:
            return list(self._subs)

    def unsubscribe(self, sub_id: str) -> bool:
        """Close the subscription ``sub_id``; return False if there is none."""
        with self._mutex:
            sub = self._subs.get(sub_id)
        if sub is None:
            return False
        sub.close()
        return True

    def close(self) -> None:
        """Stop the file watcher and end every subscription."""
        self._stop.set()
        with self._mutex:
            subs = list(self._subs.values())
        for sub in subs:
            sub.close()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=2)

    def _forget(self, sub_id: str) -> None:
        with self._mutex:
            self._subs.pop(sub_id, None)

    def _apply(self, updates: Mapping[str, ItemUpdate | None]) -> dict[str, ConfigItem]:
        changed: dict[str, ConfigItem] = {}
        with self._mutex:
            for key, update in updates.items():
                item = self._merge(key, update)
                if item is not None:
                    changed[key] = item
            if changed:
                for sub in list(self._subs.values()):
                    sub.offer(changed)
        return changed

    def _merge(self, key: str, update: ItemUpdate | None) -> ConfigItem | None:
        """Apply one update under the mutex; return the notified item, or None when nothing changed."""
        current = self._items.get(key)
        last = self._versions.get(key, "")
        if update is None:
            if current is None:
                return None
            del self._items[key]
            self._versions[key] = _bump(last)
            return ConfigItem("", self._versions[key], {})
        if update.version is None:
            if current is not None and (current.value, current.metadata) == (update.value, update.metadata):
                return None
            version = _bump(last)
        else:
            version = update.version
        item = ConfigItem(update.value, version, dict(update.metadata))
        if item == current:
            return None
        self._items[key] = item
        self._versions[key] = version
        return item

    def _signature(self) -> tuple[int, ...] | None:
        assert self._file is not None
        try:
            st = os.stat(self._file)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _reload(self, strict: bool = False) -> None:
        """Read the items file and apply what changed in it; log and keep the old items on failure."""
        assert self._file is not None
        sig = self._signature()
        try:
            fresh = parse_items(json.loads(self._file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            if strict:
                raise
            log.warning(
                "configuration store %s: ignoring %s (keeping the last good items): %s", self.name, self._file, exc
            )
            self._file_sig = sig
            return
        if self._signature() != sig:
            return  # written while we read it; the next poll reads it again
        self._file_sig = sig
        previous = self._file_items
        diff: dict[str, ItemUpdate | None] = {k: v for k, v in fresh.items() if previous.get(k) != v}
        diff.update({k: None for k in previous if k not in fresh})
        self._file_items = fresh
        changed = self._apply(diff)
        if changed:
            log.info("configuration store %s: %d item(s) changed in %s", self.name, len(changed), self._file)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            sig = self._signature()
            if sig is None or sig == self._file_sig:
                continue
            try:
                self._reload()
            except Exception:  # noqa: BLE001 - the watcher must survive anything a file can do
                log.exception("configuration store %s: reading %s failed", self.name, self._file)
