"""Small routing layer for daprd's HTTP API: requests, responses, routes, JSON and errors.

A handler takes ``(runtime, request)`` and returns a :class:`Response`, or raises DaprApiError,
which becomes daprd's ``{"errorCode", "message"}`` body with the matching status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from .. import gojson, protojson_syntax
from ..errors import DaprApiError
from ..runtime import Runtime

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Request:
    """One HTTP request with its path parameters already decoded."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    raw_query: str = ""
    """The query string as sent (service invocation passes it on unchanged)."""

    def json(self) -> Any:
        """Parse the body as JSON (Go's rules: no ``NaN``), raising daprd's ERR_MALFORMED_REQUEST on bad input."""
        try:
            return gojson.loads(self.body or b"null")
        except ValueError as exc:
            raise malformed(str(exc)) from exc

    def json_first(self, prefix: str = "failed deserializing HTTP body: ") -> Any:
        """Decode the first JSON value of the body as Go's ``json.Decoder`` does (trailing bytes are not read)."""
        if not self.body.strip(b" \t\r\n"):
            raise malformed_message(prefix + "EOF")
        try:
            return gojson.loads_first(self.body.decode("utf-8", "replace"))
        except ValueError as exc:
            raise malformed_message(prefix + str(exc)) from exc

    def json_object(self) -> dict[str, Any]:
        """Return the body as a JSON object, ``{}`` when empty; anything else is ERR_MALFORMED_REQUEST."""
        if not self.body:
            return {}
        problem = protojson_syntax.syntax_error(self.body.decode("utf-8", "replace"))
        if problem is not None:
            raise malformed(f"proto: {problem}")
        try:
            body = gojson.loads(self.body)
        except ValueError as exc:  # beyond syntax: nesting deeper than Go decodes
            raise malformed(str(exc)) from exc
        if not isinstance(body, dict):
            raise malformed("proto: syntax error: unexpected token, expected '{'")
        return body

    def proto(self, message_cls: type[M]) -> M:
        """Parse the body into a new ``message_cls`` as daprd's protojson decoding does (see :func:`parse_proto`)."""
        return parse_proto(self.json_object(), message_cls)

    def arg(self, name: str, default: str = "") -> str:
        """Return the first query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def metadata(self) -> dict[str, str]:
        """Return the ``metadata.<key>=value`` query parameters as a dict."""
        return {k[len("metadata.") :]: v[0] for k, v in self.query.items() if k.startswith("metadata.") and v}

    def header(self, name: str, default: str = "") -> str:
        """Return a header value (case-insensitive)."""
        lowered = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lowered:
                return v
        return default


def malformed(why: str) -> DaprApiError:
    """Return daprd's ERR_MALFORMED_REQUEST for a body it cannot deserialize."""
    return DaprApiError(
        grpc.StatusCode.INVALID_ARGUMENT, f"failed deserializing HTTP body: {why}", error_code="ERR_MALFORMED_REQUEST"
    )


def malformed_message(message: str) -> DaprApiError:
    """Return daprd's ERR_MALFORMED_REQUEST with exactly ``message``."""
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT, message, error_code="ERR_MALFORMED_REQUEST")


def parse_proto(fields: dict[str, Any], message_cls: type[M]) -> M:
    """Fill a new ``message_cls`` from a JSON object with protobuf's JSON mapping.

    json names and proto names are both accepted and unknown fields are ignored, as in daprd; a value
    of the wrong type is ERR_MALFORMED_REQUEST (``proto: …``), and so is a ``google.protobuf.Struct``
    value nested deeper than Python's protobuf can convert (Go's protojson would take 10,000 levels).
    """
    message = message_cls()
    try:
        json_format.ParseDict(fields, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise malformed(f"proto: {exc}") from exc
    except RecursionError:
        raise malformed("proto: value nested too deeply") from None
    return message


@dataclass(frozen=True)
class Response:
    """An HTTP response."""

    status: int = 204
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    more_headers: tuple[tuple[str, str], ...] = ()
    """Headers that may repeat (``Set-Cookie`` …), written after ``headers``."""


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a JSON response, compact as Go writes it."""
    return Response(status, gojson.compact(value).encode(), "application/json", headers or {})


def encoder_response(value: Any, *, sort_keys: bool = False) -> Response:
    """Return 200 with ``value`` as Go's ``json.Encoder`` writes it (daprd's ``respondWithJSON``): a final newline.

    ``sort_keys`` for a Go map; a Go struct keeps its field order, which is the order of ``value``'s keys.
    """
    return Response(200, (gojson.dumps(value, sort_keys=sort_keys) + "\n").encode("utf-8"), "application/json")


def no_content() -> Response:
    """Return daprd's usual 204."""
    return Response(204)


def error_response(error: DaprApiError) -> Response:
    """Return daprd's JSON error body for ``error``, encoded as Go does (compact; detail keys sorted)."""
    body = error.to_http_body()
    text = f'{{"errorCode":{gojson.dumps(body["errorCode"])},"message":{gojson.dumps(body["message"])}'
    if "details" in body:
        text += f',"details":{gojson.dumps(body["details"])}'
    return Response(error.status_http, (text + "}").encode("utf-8"), "application/json")


Handler = Callable[[Runtime, Request], Response]


@dataclass(frozen=True)
class Route:
    """``METHOD /path/{param}`` → handler; ``{name*}`` matches the rest of the path, slashes included."""

    method: str
    pattern: str
    handler: Handler

    def compile(self) -> re.Pattern[str]:
        """Turn the pattern into a regular expression with named groups."""
        regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", self.pattern)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")


class Router:
    """Match requests to routes; anything else goes to the fallback, as in daprd.

    daprd's chi router sends unknown paths, wrong methods and unknown verbs (OPTIONS, FOO…) to its
    fallback, service invocation, which answers 404 ERR_DIRECT_INVOKE when no ``dapr-app-id`` names a
    target (dapr/dapr ``pkg/api/http/server.go`` ``handle``, ``directmessaging.go``).
    """

    def __init__(self, routes: list[Route], fallback: Route) -> None:
        self._routes = [(route, route.compile()) for route in routes]
        self._fallback = fallback

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Return the route for ``method path`` (cleaned as daprd's CleanPathMiddleware does) and its parameters."""
        path = clean_path(path)
        for route, regex in self._routes:
            found = regex.match(path)
            if found and route.method in (method, "*"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return self._fallback, {}


def clean_path(path: str) -> str:
    """Return Go's ``path.Clean`` of a request path: no doubled or trailing slash, ``.`` and ``..`` resolved."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/" + "/".join(parts)
