"""Helpers for the differential tests: run one scenario on the sandbox and on daprd, compare field by field.

A scenario is a function of the sidecar that returns plain data (dicts, lists, strings, numbers).
``same(on_sandbox, on_daprd)`` compares the two answers path by path and raises :class:`DaprdDiffers`
listing every path that differs; a test marked ``daprd_differs("key")`` expects exactly that
exception (a strict xfail that any other failure, e.g. of the sandbox's own assertions, still fails).
Values that differ by construction (app ids, random keys, ports) are replaced with placeholders by
``scrub`` before comparing; timestamps are compared by format (``iso_time``), never by value.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from dapr.clients.exceptions import DaprGrpcError
from google.protobuf.json_format import MessageToDict

from dapr_nb.daprd import Daprd
from dapr_nb.sandbox import Sandbox

Sidecar = Sandbox | Daprd
Scenario = Callable[[Sidecar], Any]
OnBoth = Callable[[Scenario], tuple[Any, Any]]

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class DaprdDiffers(AssertionError):
    """The sandbox's and daprd's answers to one scenario differ (the message lists each differing path)."""


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Return one line per path where ``a`` (sandbox) and ``b`` (daprd) differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                out.append(f"{path}.{key}: only daprd has it: {b[key]!r}")
            elif key not in b:
                out.append(f"{path}.{key}: only the sandbox has it: {a[key]!r}")
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items on the sandbox, {len(b)} on daprd: {a!r} != {b!r}"]
        return [line for i, (x, y) in enumerate(zip(a, b, strict=True)) for line in differences(x, y, f"{path}[{i}]")]
    if a != b or type(a) is not type(b):
        return [f"{path}: sandbox {a!r} != daprd {b!r}"]
    return []


def same(on_sandbox: Any, on_daprd: Any) -> None:
    """Raise :class:`DaprdDiffers` naming every path where the two answers differ."""
    found = differences(on_sandbox, on_daprd)
    if found:
        raise DaprdDiffers("the sandbox and daprd differ:\n" + "\n".join(found))


def scrub(value: Any, replacements: Mapping[str, str]) -> Any:
    """Return ``value`` with every occurrence of each key (in strings, dict keys too) replaced by its placeholder."""
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, bytes):
        return scrub(value.decode("utf-8", "replace"), replacements).encode()
    if isinstance(value, Mapping):
        return {scrub(k, replacements): scrub(v, replacements) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(scrub(v, replacements) for v in value)
    if isinstance(value, list):
        return [scrub(v, replacements) for v in value]
    return value


def token(prefix: str = "d") -> str:
    """Return a random name for one run of a scenario (scrub it before comparing)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def iso_time(value: Any) -> str:
    """Describe a timestamp by its format only: ``"rfc3339"``, ``"absent"`` or the odd value itself."""
    if value in (None, ""):
        return "absent"
    return "rfc3339" if isinstance(value, str) and ISO_TIME.match(value) else f"odd: {value!r}"


def rpc_error(exc: BaseException) -> dict[str, Any]:
    """Return a gRPC error as data: status code name, message, and each status detail in order (type, fields)."""
    if isinstance(exc, DaprGrpcError):
        status = exc.get_grpc_status()
        details = [] if status is None else [_detail(d) for d in status.details]
        return {"code": exc.code().name, "message": exc.details(), "details": details}
    if isinstance(exc, grpc.RpcError):
        from grpc_status import rpc_status  # noqa: PLC0415 - only for raw stub errors

        raw = rpc_status.from_call(exc)  # type: ignore[arg-type]
        details = [] if raw is None else [_detail(d) for d in raw.details]
        return {"code": exc.code().name, "message": exc.details(), "details": details}  # type: ignore[attr-defined]
    raise TypeError(f"not a gRPC error: {exc!r}")


def _detail(detail: Any) -> dict[str, Any]:
    from google.rpc import error_details_pb2  # noqa: PLC0415

    type_name = detail.type_url.rsplit("/", 1)[-1]
    for cls in (
        error_details_pb2.ErrorInfo,
        error_details_pb2.ResourceInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.Help,
        error_details_pb2.PreconditionFailure,
        error_details_pb2.RetryInfo,
        error_details_pb2.DebugInfo,
        error_details_pb2.LocalizedMessage,
    ):
        if detail.Is(cls.DESCRIPTOR):
            message = cls()
            detail.Unpack(message)
            return {"type": type_name, **MessageToDict(message)}
    return {"type": type_name}


def raises(call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call``, which should fail with a gRPC error, and return that error as data (or that it did not fail)."""
    try:
        result = call()
    except grpc.RpcError as exc:
        return rpc_error(exc)
    return {"no error": result if isinstance(result, dict | list | str | bytes | int | None) else repr(result)}


def raw_http(sidecar: Sidecar, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    """Call the sidecar's HTTP API; return status, Content-Type and the body bytes exactly as sent."""
    request = urllib.request.Request(f"{sidecar.http_endpoint}{path}", data=body, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:  # noqa: S310 - loopback sidecar URL
            return resp.status, resp.headers.get("Content-Type") or "", resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type") or "", exc.read()


def http(
    sidecar: Sidecar,
    method: str,
    path: str,
    body: bytes | str | Any = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Call the sidecar's HTTP API; return status, content type and the body (parsed when JSON)."""
    data: bytes | None
    if body is None or isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    request = urllib.request.Request(f"{sidecar.http_endpoint}{path}", data=data, method=method)
    for name, value in (headers or {"Content-Type": "application/json"}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:  # noqa: S310 - loopback sidecar URL
            status, raw, resp_headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        status, raw, resp_headers = exc.code, exc.read(), exc.headers
    content_type = (resp_headers.get("Content-Type") or "").split(";")[0].strip()
    parsed: Any = raw.decode("utf-8", "replace")
    if content_type == "application/json" and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"not JSON": parsed}
    meta = {k.lower(): v for k, v in resp_headers.items() if k.lower().startswith("metadata.")}
    answer = {"status": status, "content_type": content_type, "body": parsed, "etag": bool(resp_headers.get("ETag"))}
    if meta:
        answer["metadata_headers"] = {k: iso_time(v) if k.endswith("expiretime") else v for k, v in meta.items()}
    return answer


def exact(value: Any, replacements: Mapping[str, str]) -> Any:
    """Return ``value`` with strings that equal a key (not merely contain it) replaced by its placeholder."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, Mapping):
        return {k: exact(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v, replacements) for v in value]
    if isinstance(value, tuple):
        return tuple(exact(v, replacements) for v in value)
    return value


def as_dict(message: Any) -> dict[str, Any]:
    """Return a protobuf message as a dict with the proto field names (defaults left out, as on the wire)."""
    return MessageToDict(message, preserving_proto_field_name=True)


class Stub:
    """A raw ``DaprStub`` on a channel of its own: ``with Stub(sidecar) as dapr: dapr.GetMetadata(...)``."""

    def __init__(self, sidecar: Sidecar) -> None:
        from dapr.proto.runtime.v1 import dapr_pb2_grpc  # noqa: PLC0415

        target = sidecar.grpc_endpoint.split("://", 1)[-1]
        self.channel = grpc.insecure_channel(target)
        self.stub = dapr_pb2_grpc.DaprStub(self.channel)

    def __enter__(self) -> Any:
        return self.stub

    def __exit__(self, *exc: Any) -> None:
        self.channel.close()
