"""``Client`` and ``AsyncClient``: a constructor, close, and one binding line per Dapr operation.

Rule: every operation is defined once in ``dapr_nb.core`` and bound here with ``_sync`` / ``_async``,
so both clients have the same operations with the same signatures by construction. Constructors do no
I/O (the channel opens on the first call); the sync client never touches an event loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from .core import bindings, configuration, conversation, invoke, jobs, lock, metadata, pubsub, secrets, state, workflow
from .core.configuration import ConfigurationSubscription
from .core.ops import Op, RetryPolicy
from .core.pubsub import TopicSubscription
from .core.results import LockResult
from .errors import Conflict
from .transport.aio import AioDriver
from .transport.aio_streams import AsyncConfigurationWatch, AsyncSubscription
from .transport.config import Settings
from .transport.streams import ConfigurationWatch, Subscription
from .transport.sync import SyncDriver

P = ParamSpec("P")
T = TypeVar("T")
B = TypeVar("B", bound="_Bindings")


def _describe(method: Callable[..., Any], op: Callable[..., Any]) -> None:
    method.__name__ = method.__qualname__ = op.__name__
    method.__doc__ = op.__doc__
    method.__module__ = __name__
    sig = inspect.signature(op)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = sig.replace(parameters=[self_param, *sig.parameters.values()])  # type: ignore[attr-defined]


def _sync(op: Callable[P, Op[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._driver.run(op(*args, **kwargs))

    _describe(method, op)
    return method


def _async(op: Callable[P, Op[T]]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._driver.run(op(*args, **kwargs))

    _describe(method, op)
    return method


class _Bindings:
    """What both clients share: the constructor, and the operations they expose (listed once for the parity test)."""

    OPERATIONS: tuple[Callable[..., Any], ...] = (
        state.get_state, state.get_bulk_state, state.save_state, state.save_bulk_state, state.delete_state,
        state.delete_bulk_state, state.execute_state_transaction, state.query_state,
        pubsub.publish, pubsub.publish_bulk,
        secrets.get_secret, secrets.get_bulk_secret,
        configuration.get_configuration, configuration.unsubscribe_configuration,
        lock.try_lock, lock.unlock,
        bindings.invoke_binding, invoke.invoke_method,
        jobs.schedule_job, jobs.get_job, jobs.delete_job, jobs.list_jobs, jobs.delete_jobs_by_prefix,
        conversation.converse,
        metadata.get_metadata, metadata.set_metadata, metadata.shutdown, metadata.wait_ready,
        workflow.start_workflow, workflow.get_workflow, workflow.wait_for_workflow_start,
        workflow.wait_for_workflow_completion, workflow.raise_workflow_event, workflow.suspend_workflow,
        workflow.resume_workflow, workflow.terminate_workflow, workflow.purge_workflow,
        workflow.list_workflow_ids, workflow.get_workflow_history, workflow.rerun_workflow,
    )  # fmt: skip
    _driver_class: type[SyncDriver] | type[AioDriver]

    def __init__(
        self,
        address: str | None = None,
        *,
        http_endpoint: str | None = None,
        api_token: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = Settings.resolve(
            address, http_endpoint=http_endpoint, api_token=api_token, timeout=timeout, retry=retry
        )
        self._driver = self._driver_class(self.settings)

    @classmethod
    def from_settings(cls: type[B], settings: Settings) -> B:
        """Make a client for already-resolved settings (another client's ``settings``); no I/O, env not read."""
        client = cls.__new__(cls)
        client.settings = settings
        client._driver = cls._driver_class(settings)
        return client


class Client(_Bindings):
    """A blocking Dapr client: ``Client()`` reads DAPR_* settings; no I/O until the first call."""

    _driver: SyncDriver
    _driver_class = SyncDriver

    def run(self, op: Op[T]) -> T:
        """Run any core operation (a generator from ``dapr_nb.core``) on this client."""
        return self._driver.run(op)

    def close(self) -> None:
        """Close the channel; the client cannot be used afterwards."""
        self._driver.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(grpc={self.settings.grpc}, http={self.settings.http})"

    get_state = _sync(state.get_state)
    get_bulk_state = _sync(state.get_bulk_state)
    save_state = _sync(state.save_state)
    save_bulk_state = _sync(state.save_bulk_state)
    delete_state = _sync(state.delete_state)
    delete_bulk_state = _sync(state.delete_bulk_state)
    execute_state_transaction = _sync(state.execute_state_transaction)
    query_state = _sync(state.query_state)
    publish = _sync(pubsub.publish)
    publish_bulk = _sync(pubsub.publish_bulk)
    get_secret = _sync(secrets.get_secret)
    get_bulk_secret = _sync(secrets.get_bulk_secret)
    get_configuration = _sync(configuration.get_configuration)
    unsubscribe_configuration = _sync(configuration.unsubscribe_configuration)
    try_lock = _sync(lock.try_lock)
    unlock = _sync(lock.unlock)
    invoke_binding = _sync(bindings.invoke_binding)
    invoke_method = _sync(invoke.invoke_method)
    schedule_job = _sync(jobs.schedule_job)
    get_job = _sync(jobs.get_job)
    delete_job = _sync(jobs.delete_job)
    list_jobs = _sync(jobs.list_jobs)
    delete_jobs_by_prefix = _sync(jobs.delete_jobs_by_prefix)
    converse = _sync(conversation.converse)
    get_metadata = _sync(metadata.get_metadata)
    set_metadata = _sync(metadata.set_metadata)
    shutdown = _sync(metadata.shutdown)
    wait_ready = _sync(metadata.wait_ready)
    start_workflow = _sync(workflow.start_workflow)
    get_workflow = _sync(workflow.get_workflow)
    wait_for_workflow_start = _sync(workflow.wait_for_workflow_start)
    wait_for_workflow_completion = _sync(workflow.wait_for_workflow_completion)
    raise_workflow_event = _sync(workflow.raise_workflow_event)
    suspend_workflow = _sync(workflow.suspend_workflow)
    resume_workflow = _sync(workflow.resume_workflow)
    terminate_workflow = _sync(workflow.terminate_workflow)
    purge_workflow = _sync(workflow.purge_workflow)
    list_workflow_ids = _sync(workflow.list_workflow_ids)
    get_workflow_history = _sync(workflow.get_workflow_history)
    rerun_workflow = _sync(workflow.rerun_workflow)

    def subscribe(
        self,
        pubsub: str,
        topic: str,
        *,
        metadata: Mapping[str, str] | None = None,
        dead_letter_topic: str | None = None,
        timeout: float = 10.0,
    ) -> Subscription:
        """Open a streaming subscription to ``topic``; iterate it, ack each message (see ``.state``)."""
        protocol = TopicSubscription(pubsub, topic, metadata=metadata, dead_letter_topic=dead_letter_topic)
        return Subscription(self._driver, protocol).open(timeout)

    def subscribe_configuration(
        self,
        store: str,
        keys: Iterable[str] = (),
        *,
        metadata: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> ConfigurationWatch:
        """Subscribe to configuration changes of ``keys`` (all keys when empty); iterate the updates."""
        protocol = ConfigurationSubscription(store, keys, metadata)
        return ConfigurationWatch(self._driver, protocol).open(timeout)

    def lock(self, store: str, resource: str, owner: str, expiry_seconds: int = 60) -> LockContext:
        """Return a context manager that takes the lock (Conflict if held) and releases it on exit."""
        return LockContext(self, store, resource, owner, expiry_seconds)


class AsyncClient(_Bindings):
    """An asyncio Dapr client with the same operations as :class:`Client`; the channel opens in the running loop."""

    _driver: AioDriver
    _driver_class = AioDriver

    async def run(self, op: Op[T]) -> T:
        """Run any core operation (a generator from ``dapr_nb.core``) on this client."""
        return await self._driver.run(op)

    async def close(self) -> None:
        """Close the channel; the client cannot be used afterwards."""
        await self._driver.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient(grpc={self.settings.grpc}, http={self.settings.http})"

    get_state = _async(state.get_state)
    get_bulk_state = _async(state.get_bulk_state)
    save_state = _async(state.save_state)
    save_bulk_state = _async(state.save_bulk_state)
    delete_state = _async(state.delete_state)
    delete_bulk_state = _async(state.delete_bulk_state)
    execute_state_transaction = _async(state.execute_state_transaction)
    query_state = _async(state.query_state)
    publish = _async(pubsub.publish)
    publish_bulk = _async(pubsub.publish_bulk)
    get_secret = _async(secrets.get_secret)
    get_bulk_secret = _async(secrets.get_bulk_secret)
    get_configuration = _async(configuration.get_configuration)
    unsubscribe_configuration = _async(configuration.unsubscribe_configuration)
    try_lock = _async(lock.try_lock)
    unlock = _async(lock.unlock)
    invoke_binding = _async(bindings.invoke_binding)
    invoke_method = _async(invoke.invoke_method)
    schedule_job = _async(jobs.schedule_job)
    get_job = _async(jobs.get_job)
    delete_job = _async(jobs.delete_job)
    list_jobs = _async(jobs.list_jobs)
    delete_jobs_by_prefix = _async(jobs.delete_jobs_by_prefix)
    converse = _async(conversation.converse)
    get_metadata = _async(metadata.get_metadata)
    set_metadata = _async(metadata.set_metadata)
    shutdown = _async(metadata.shutdown)
    wait_ready = _async(metadata.wait_ready)
    start_workflow = _async(workflow.start_workflow)
    get_workflow = _async(workflow.get_workflow)
    wait_for_workflow_start = _async(workflow.wait_for_workflow_start)
    wait_for_workflow_completion = _async(workflow.wait_for_workflow_completion)
    raise_workflow_event = _async(workflow.raise_workflow_event)
    suspend_workflow = _async(workflow.suspend_workflow)
    resume_workflow = _async(workflow.resume_workflow)
    terminate_workflow = _async(workflow.terminate_workflow)
    purge_workflow = _async(workflow.purge_workflow)
    list_workflow_ids = _async(workflow.list_workflow_ids)
    get_workflow_history = _async(workflow.get_workflow_history)
    rerun_workflow = _async(workflow.rerun_workflow)

    async def subscribe(
        self,
        pubsub: str,
        topic: str,
        *,
        metadata: Mapping[str, str] | None = None,
        dead_letter_topic: str | None = None,
        timeout: float = 10.0,
    ) -> AsyncSubscription:
        """Open a streaming subscription to ``topic``; ``async for`` it, ack each message (see ``.state``)."""
        protocol = TopicSubscription(pubsub, topic, metadata=metadata, dead_letter_topic=dead_letter_topic)
        return await AsyncSubscription(self._driver, protocol).open(timeout)

    async def subscribe_configuration(
        self,
        store: str,
        keys: Iterable[str] = (),
        *,
        metadata: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> AsyncConfigurationWatch:
        """Subscribe to configuration changes of ``keys`` (all keys when empty); ``async for`` the updates."""
        protocol = ConfigurationSubscription(store, keys, metadata)
        return await AsyncConfigurationWatch(self._driver, protocol).open(timeout)

    def lock(self, store: str, resource: str, owner: str, expiry_seconds: int = 60) -> AsyncLockContext:
        """Return an async context manager that takes the lock (Conflict if held) and releases it on exit."""
        return AsyncLockContext(self, store, resource, owner, expiry_seconds)


def _not_acquired(result: LockResult) -> Conflict:
    return Conflict(
        f"lock {result.resource!r} in {result.store!r} is held by someone else", code="ABORTED", operation="lock"
    )


class LockContext:
    """``with client.lock(...) as result:`` — raises Conflict when the lock is held; unlocks on exit."""

    def __init__(self, client: Client, store: str, resource: str, owner: str, expiry_seconds: int) -> None:
        self._client, self._args, self._expiry = client, (store, resource, owner), expiry_seconds

    def __enter__(self) -> LockResult:
        result = self._client.try_lock(*self._args, self._expiry)
        if not result:
            raise _not_acquired(result)
        return result

    def __exit__(self, *exc: object) -> None:
        self._client.unlock(*self._args)


class AsyncLockContext:
    """``async with client.lock(...) as result:`` — raises Conflict when the lock is held; unlocks on exit."""

    def __init__(self, client: AsyncClient, store: str, resource: str, owner: str, expiry_seconds: int) -> None:
        self._client, self._args, self._expiry = client, (store, resource, owner), expiry_seconds

    async def __aenter__(self) -> LockResult:
        result = await self._client.try_lock(*self._args, self._expiry)
        if not result:
            raise _not_acquired(result)
        return result

    async def __aexit__(self, *exc: object) -> None:
        await self._client.unlock(*self._args)


__all__ = ["AsyncClient", "AsyncLockContext", "Client", "LockContext"]
