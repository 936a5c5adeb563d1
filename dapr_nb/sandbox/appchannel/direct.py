"""Direct messaging: invoke this sandbox's app, or another sandbox's app found by name resolution.

Rules (dapr/dapr ``pkg/messaging/direct_messaging.go``): the method is normalized first; the
sandbox's own app id goes to its app channel (without caller headers); any other id is looked up
in the :mod:`.nameres` registry and sent to that sandbox over the internal hop with daprd's
``dapr-caller-app-id``, ``dapr-caller-namespace``, ``dapr-callee-app-id`` and forwarding headers;
that sandbox calls its own app. Failures are :class:`.channel.ChannelError` with the text daprd
puts after ``failed to invoke, id: <id>, err:``.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import replace

from .channel import AppChannel, AppSettings, ChannelError, clean_method
from .health import UNHEALTHY, AppHealth
from .messages import InvokeRequest, InvokeResult, child_traceparent
from .nameres import Entry, Registry
from .pool import ConnectionPool

log = logging.getLogger("dapr_nb.sandbox.appchannel")

INTERNAL_PATH = "/dapr-nb/internal/call-local"
"""The sandbox-to-sandbox hop (daprd's internal ``ServiceInvocation.CallLocal``)."""
SECRET_HEADER = "dapr-nb-internal-token"
NAMESPACE = "default"
NOT_INITIALIZED = "cannot invoke local endpoint: app channel not initialized"
HOP_TIMEOUT = 65.0


def host_address() -> str:
    """Return the address daprd puts in ``X-Forwarded-For``: ``$DAPR_HOST_IP``, else the outbound interface's."""
    if os.environ.get("DAPR_HOST_IP"):
        return os.environ["DAPR_HOST_IP"]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))  # no packet is sent: this only picks the route
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def make_channel(settings: AppSettings) -> AppChannel:
    """Return the channel for ``settings.protocol``."""
    if settings.protocol == "grpc":
        from .grpc_channel import GrpcChannel  # noqa: PLC0415 - only gRPC apps need the callback stubs

        return GrpcChannel(settings)
    from .http_channel import HttpChannel  # noqa: PLC0415

    return HttpChannel(settings)


class DirectMessaging:
    """Route invocations to the app channel or to another sandbox."""

    def __init__(self, app_id: str, channel: AppChannel | None, registry: Registry | None) -> None:
        self.app_id = app_id
        self.channel = channel
        self.registry = registry
        self.secret = secrets.token_urlsafe(24)
        """What other sandboxes must present on the internal hop (published in this sandbox's registry entry)."""
        self._forwarded: tuple[tuple[str, str], ...] | None = None
        self._pools: dict[tuple[str, int], ConnectionPool] = {}
        self._pools_lock = threading.Lock()
        limit = channel.settings.max_concurrency if channel is not None else -1
        self._slots = threading.BoundedSemaphore(limit) if limit > 0 else None
        self.health: AppHealth | None = None
        """The app's health checks (started by the server once the app's port is open)."""
        if channel is not None and channel.settings.health is not None:
            health = channel.settings.health
            self.health = AppHealth(health, lambda timeout: channel.probe(health.path, timeout))

    def close(self) -> None:
        """Close the app channel and the connections to other sandboxes."""
        if self.health is not None:
            self.health.close()
        if self.channel is not None:
            self.channel.close()
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _pool(self, entry: Entry) -> ConnectionPool:
        key = (entry.host, entry.http_port)
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = ConnectionPool(entry.host, entry.http_port, HOP_TIMEOUT)
            return pool

    def invoke(self, target: str, request: InvokeRequest) -> InvokeResult:
        """Invoke ``request.method`` on app ``target``; ChannelError carries daprd's reason."""
        request = replace(request, method=clean_method(request.method))
        app_id = _app_id(target)
        if app_id == self.app_id:
            return self.invoke_local(request)
        entry = self.registry.lookup(app_id) if self.registry is not None else None
        if entry is None:
            raise ChannelError(f"couldn't find service: {app_id}")
        return self._invoke_remote(entry, request)

    def invoke_local(self, request: InvokeRequest) -> InvokeResult:
        """Call this sandbox's app with a new span; ChannelError when it has none."""
        if self.channel is None:
            raise ChannelError(NOT_INITIALIZED)
        if self.health is not None and not self.health.healthy:
            raise ChannelError(UNHEALTHY, "Internal")
        span = child_traceparent(request.traceparent or request.header("traceparent"))
        if self._slots is None:
            return self.channel.invoke(replace(request, traceparent=span))
        with self._slots:  # daprd's --app-max-concurrency: wait for a free slot
            return self.channel.invoke(replace(request, traceparent=span))

    def _invoke_remote(self, entry: Entry, request: InvokeRequest) -> InvokeResult:
        caller = (
            ("dapr-caller-namespace", NAMESPACE), ("dapr-caller-app-id", self.app_id),
            ("dapr-callee-app-id", entry.app_id),
        )  # fmt: skip
        span = child_traceparent(request.header("traceparent"))
        sent = replace(request.with_headers((*self._forwarding(), *caller)), traceparent=span)
        body = json.dumps(sent.to_json()).encode()
        headers = [(SECRET_HEADER, entry.secret), ("Content-Type", "application/json"),
                   ("Content-Length", str(len(body)))]  # fmt: skip
        try:
            response = self._pool(entry).request("POST", INTERNAL_PATH, headers, body)
            answer = json.loads(response.body)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ChannelError(
                f"failed to invoke target {entry.app_id} after 3 retries. Error: rpc error: code = Unavailable "
                f'desc = connection error: desc = "transport: Error while dialing: dial tcp '
                f'{entry.host}:{entry.grpc_port}: connect: {why.lower()}"'
            ) from exc
        if response.status != 200:
            error = answer.get("error") or {}
            raise ChannelError(str(error.get("message", answer)), str(error.get("code", "Internal")))
        return replace(InvokeResult.from_json(answer), traceparent=span)

    def _forwarding(self) -> tuple[tuple[str, str], ...]:
        if self._forwarded is None:
            address, name = host_address(), socket.gethostname()
            shown = f'"[{address}]"' if ":" in address else address
            self._forwarded = (
                ("X-Forwarded-For", address), ("X-Forwarded-Host", name),
                ("Forwarded", f"for={shown};by={shown};host={name}"),
            )  # fmt: skip
        return self._forwarded


def serve_hop(direct: DirectMessaging, body: bytes, reply: Callable[[int, dict[str, object]], None]) -> None:
    """Answer another sandbox's hop: call this sandbox's app and reply with the result (or daprd's error)."""
    try:
        request = InvokeRequest.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError) as exc:
        reply(400, {"error": {"code": "InvalidArgument", "message": f"malformed internal request: {exc}"}})
        return
    if direct.channel is None:
        reply(500, {"error": {"code": "Internal", "message": "app channel is not initialized"}})
        return
    try:
        result = direct.invoke_local(request)
    except ChannelError as exc:
        reply(500, {"error": {"code": "Internal", "message": f"error invoking app channel: {exc.reason}"}})
        return
    reply(200, result.to_json())


def _app_id(target: str) -> str:
    """Return the app id daprd resolves for ``target``; ChannelError for an empty or malformed one."""
    if not target:
        raise ChannelError("app id is empty")
    if target.startswith(("http://", "https://")):
        raise ChannelError(f"couldn't find service: {target}")
    parts = target.split(".")
    if len(parts) > 2:
        raise ChannelError(f"invalid app id {target}")
    return parts[0]
