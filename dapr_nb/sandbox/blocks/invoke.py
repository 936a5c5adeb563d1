"""Service invocation, answered as daprd answers when the target cannot be reached.

Rules (dapr/dapr: ``pkg/messaging/direct_messaging.go``, ``pkg/api/http/directmessaging.go``,
``pkg/messages/predefined.go``): the sandbox is a daprd with no app channel whose self-hosted mDNS
name resolution finds no other sidecar. So every invocation fails with daprd's ``ErrDirectInvoke``,
``failed to invoke, id: <id>, err: <why>`` (HTTP 500 ``ERR_DIRECT_INVOKE``, gRPC INTERNAL), where
``<why>`` is

* ``cannot invoke local endpoint: app channel not initialized`` for the sandbox's own app id;
* mDNS's ``couldn't find service: <id>`` for any other id (``<id>.<namespace>`` looks up ``<id>``);
* ``invalid app id <id>`` for an id with more than one dot, ``app id is empty`` for none.

An HTTP path under ``/v1.0/invoke/`` without ``/method/`` (and no ``dapr-app-id`` header) is
``ErrDirectInvokeNoAppID`` (404 / NOT_FOUND). Differences: external URLs (``http://…``) and
HTTPEndpoint resources are not called; they answer like an unknown app id.

With an app channel (``--app-port``) or other sandboxes in the name-resolution registry,
:func:`call` reaches the app through :mod:`..appchannel.direct`; what it cannot reach fails with
the same ``ERR_DIRECT_INVOKE`` error, with the reason direct messaging gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote_plus

import grpc

from ..appchannel.channel import ChannelError
from ..appchannel.direct import DirectMessaging
from ..appchannel.messages import InvokeRequest, InvokeResult
from ..errors import DaprApiError
from ..runtime import Runtime

ERROR_CODE = "ERR_DIRECT_INVOKE"
APP_ID_HEADER = "dapr-app-id"
_PREFIX = "/v1.0/invoke/"


def no_app_id() -> DaprApiError:
    """Return daprd's error for an invocation that names no app id."""
    return DaprApiError(grpc.StatusCode.NOT_FOUND,
                        "failed getting app id either from the URL path or the header dapr-app-id",
                        error_code=ERROR_CODE)  # fmt: skip


def invoke(runtime: Runtime, target: str) -> DaprApiError:
    """Return the error daprd's direct messaging answers for invoking ``target`` from the sandbox."""
    return DaprApiError(grpc.StatusCode.INTERNAL, f"failed to invoke, id: {target}, err: {_why(runtime, target)}",
                        error_code=ERROR_CODE)  # fmt: skip


def messaging(runtime: Runtime) -> DirectMessaging | None:
    """Return the runtime's direct messaging (None in a runtime built without the app channel service)."""
    found = runtime.services.get("direct")
    return found if isinstance(found, DirectMessaging) else None


def call(runtime: Runtime, target: str, request: InvokeRequest) -> InvokeResult:
    """Invoke ``request`` on app ``target`` and return the app's answer; raise daprd's ERR_DIRECT_INVOKE."""
    direct = messaging(runtime)
    if direct is None:
        raise invoke(runtime, target)
    try:
        return direct.invoke(target, request)
    except ChannelError as exc:
        raise DaprApiError(grpc.StatusCode.INTERNAL, f"failed to invoke, id: {target}, err: {exc.reason}",
                           error_code=ERROR_CODE) from exc  # fmt: skip


def _why(runtime: Runtime, target: str) -> str:
    if not target:
        return "app id is empty"
    if target.startswith(("http://", "https://")):
        return f"couldn't find service: {target}"
    parts = target.split(".")
    if len(parts) > 2:
        return f"invalid app id {target}"
    if parts[0] == runtime.app_id:
        return "cannot invoke local endpoint: app channel not initialized"
    return f"couldn't find service: {parts[0]}"


def target_of(path: str, headers: Mapping[str, str]) -> str:
    """Find the target app id as daprd does: the ``dapr-app-id`` header, else ``/v1.0/invoke/<id>/method/…``.

    ``path`` is the URL path already percent-decoded; return ``""`` when it names no app id.
    """
    for key, value in headers.items():
        if key.lower() == APP_ID_HEADER and value:
            return value
    rest = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
    index = rest.find("/method/")
    if index <= 0:
        return ""
    return unquote_plus(rest[:index]) or rest[:index]
