"""The HTTP API's bytes on the sandbox and on daprd: JSON formatting of answers and of malformed-JSON errors.

``differential.http`` compares parsed bodies; here the raw bytes are compared, so spacing, key
order, escaping and omitted fields all count.
"""

from __future__ import annotations

from typing import Any

from differential import OnBoth, Sidecar, raw_http, same, scrub, token

MALFORMED = (
    "{", "[1,", '{"a" 1}', "[1 2]", '{"a":1 "b"}', "1 2", "nul", '"\\q"', '{"a":"\u0001"}',
    '{"a":}', "{} x", "{,}", '{"a":1,}', '"\\u12g4"', "{}{}", "\n\n  {\n  x", '{"a":NaN}', "[]",
)  # fmt: skip


def formatting(sidecar: Sidecar) -> Any:
    """Answers with JSON bodies (state, bulk state, secrets, HTML-ish values), raw."""
    key = token("k")
    value = b'[{"key": "KEY", "value": {"html": "<a&b>", "n": 1.50, "u": "\\u00e9"}}]'.replace(b"KEY", key.encode())
    answer = {
        "save": raw_http(sidecar, "POST", "/v1.0/state/statestore", value),
        "get": raw_http(sidecar, "GET", f"/v1.0/state/statestore/{key}"),
        "bulk": raw_http(sidecar, "POST", "/v1.0/state/statestore/bulk", f'{{"keys": ["{key}", "{key}-x"]}}'.encode()),
        "secret": raw_http(sidecar, "GET", "/v1.0/secrets/secretstore/db-password"),
        "unknown_store": raw_http(sidecar, "GET", "/v1.0/state/nostore/k"),
        "no_route": raw_http(sidecar, "GET", "/v1.0/nothing"),
    }
    app = f'"appID":"{sidecar.app_id}"'
    return scrub(answer, {key: "KEY", f'"etag":"{etag_of(answer["bulk"][2])}"': '"etag":"ETAG"', app: '"appID":"APP"'})


def etag_of(bulk: bytes) -> str:
    """Return the etag of the first item of a raw bulk-get answer."""
    import json  # noqa: PLC0415

    return str(json.loads(bulk)[0].get("etag", ""))


def test_json_answers_byte_for_byte(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(formatting)
    assert on_sandbox["get"][0] == 200
    same(on_sandbox, on_daprd)


JSON_ROUTES = {
    "state_save": "/v1.0/state/statestore",
    "state_bulk": "/v1.0/state/statestore/bulk",
    "state_transaction": "/v1.0/state/statestore/transaction",
    "binding": "/v1.0/bindings/localfiles",
}
"""Routes whose body daprd decodes with Go's ``encoding/json`` (a ``json.Decoder``)."""
PROTOJSON_ROUTES = {
    "lock": "/v1.0-alpha1/lock/lockstore",
    "job": "/v1.0-alpha1/jobs/malformed-job",
    "conversation": "/v1.0-alpha2/conversation/echo/converse",
}
"""Routes whose body daprd decodes with ``protojson`` (its universal handler)."""


def malformed(routes: dict[str, str]) -> Any:
    """Return a scenario that sends each malformed body to each route."""

    def scenario(sidecar: Sidecar) -> Any:
        return {
            f"{name} {body!r}": raw_http(sidecar, "POST", path, body.encode())
            for name, path in routes.items()
            for body in MALFORMED
        }

    return scenario


def test_malformed_json_errors(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(malformed(JSON_ROUTES))
    assert on_sandbox["state_save '{'"][0] == 400
    same(on_sandbox, on_daprd)


def test_malformed_protojson_errors(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(malformed(PROTOJSON_ROUTES))
    assert on_sandbox["job '{'"][0] == 400
    same(on_sandbox, on_daprd)
