"""daprd's HTTP routes for the secrets building block (thin: JSON <-> blocks.secrets).

The bulk route comes first so that a secret cannot shadow it, as in daprd.
"""

from __future__ import annotations

from ..blocks import secrets
from ..runtime import Runtime
from ._base import Request, Response, Route, encoder_response


def get_secret(runtime: Runtime, request: Request) -> Response:
    """Return the secret's ``{key: value}`` map; ``metadata.*`` query parameters go to the store."""
    store, key = request.params["store"], request.params["key"]
    return encoder_response(secrets.get_secret(runtime, store, key, request.metadata()), sort_keys=True)


def get_bulk(runtime: Runtime, request: Request) -> Response:
    """Return ``{secret: {key: value}}`` for every secret of the store."""
    return encoder_response(secrets.get_bulk(runtime, request.params["store"], request.metadata()), sort_keys=True)


ROUTES: list[Route] = [
    Route("GET", "/v1.0/secrets/{store}/bulk", get_bulk),
    Route("GET", "/v1.0/secrets/{store}/{key}", get_secret),
]
