"""daprd's HTTP routes for the configuration building block (thin: JSON <-> blocks.configuration).

``/v1.0`` and ``/v1.0-alpha1`` serve the same handlers, as in daprd. HTTP subscribe needs an app
channel to POST updates to; the sandbox has none, so it answers daprd's ``ERR_APP_CHANNEL_NIL``.
``POST /v1.0-sandbox/configuration/{store}`` is the sandbox's own admin route for changing items.
"""

from __future__ import annotations

import grpc

from ..blocks import configuration
from ..errors import DaprApiError
from ..runtime import Runtime
from ._base import Request, Response, Route, encoder_response, json_response, no_content

NO_APP_CHANNEL = (
    "app channel is not initialized. cannot subscribe to configuration updates "
    "(the dapr_nb sandbox has no app channel: subscribe over gRPC, e.g. DaprClient.subscribe_configuration)"
)


def get_configuration(runtime: Runtime, request: Request) -> Response:
    """Return ``{key: {value, version, metadata}}`` for ``?key=…`` (all keys when none); 204 when empty."""
    items = configuration.get_items(runtime, request.params["store"], request.query.get("key", []), http=True)
    if not items:
        return no_content()
    return encoder_response({key: items[key].to_daprd_json() for key in sorted(items)})  # a Go map: sorted keys


def subscribe(runtime: Runtime, request: Request) -> Response:
    """Validate the store, then refuse as daprd does without an app channel."""
    configuration.find_store(runtime, request.params["store"], http=True)
    raise DaprApiError(grpc.StatusCode.INTERNAL, NO_APP_CHANNEL, error_code="ERR_APP_CHANNEL_NIL", http_status=500)


def unsubscribe(runtime: Runtime, request: Request) -> Response:
    """End a subscription: ``{"ok": true}``, or 500 ``{"message": …}`` when the id is unknown."""
    problem = configuration.unsubscribe_from(runtime, request.params["store"], request.params["id"])
    if problem:
        return json_response({"message": problem}, status=500)
    return json_response({"ok": True})


def set_items(runtime: Runtime, request: Request) -> Response:
    """Sandbox admin: upsert items (``null`` deletes); return ``{"items": changed}``."""
    changed = configuration.set_items(runtime, request.params["store"], request.json())
    return json_response({"items": {key: item.to_json() for key, item in changed.items()}})


ROUTES: list[Route] = [
    route
    for prefix in ("/v1.0", "/v1.0-alpha1")
    for route in (
        Route("GET", f"{prefix}/configuration/{{store}}", get_configuration),
        Route("GET", f"{prefix}/configuration/{{store}}/subscribe", subscribe),
        Route("GET", f"{prefix}/configuration/{{store}}/{{id}}/unsubscribe", unsubscribe),
    )
] + [Route("POST", "/v1.0-sandbox/configuration/{store}", set_items)]
