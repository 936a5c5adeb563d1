"""The value rule (Python ⇄ bytes) and workflow/job payload helpers, without a network."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dapr_nb.core import jobs
from dapr_nb.core.values import NestedTooDeeply, check_depth, decode, encode, from_json_text, json_text, sniff


@dataclasses.dataclass
class Order:
    id: int
    when: dt.date


def test_encode_by_type() -> None:
    assert encode(b"\x00\x01") == (b"\x00\x01", "application/octet-stream")
    assert encode("héllo") == ("héllo".encode(), "text/plain")
    assert encode({"a": [1, 2.5, None, True]}) == (b'{"a":[1,2.5,null,true]}', "application/json")
    assert encode(0) == (b"0", "application/json")
    assert encode(Order(1, dt.date(2024, 1, 2)))[0] == b'{"id":1,"when":"2024-01-02"}'
    with pytest.raises(TypeError):
        encode(object())


def test_pydantic_like_models_use_model_dump() -> None:
    class Model:
        def model_dump(self, mode: str) -> dict[str, str]:
            return {"mode": mode}

    assert encode(Model())[0] == b'{"mode":"json"}'


def test_decode_by_content_type_then_sniffing() -> None:
    assert decode(b'{"a":1}', "application/json; charset=utf-8") == {"a": 1}
    assert decode(b'{"a":1}', "application/cloudevents+json") == {"a": 1}
    assert decode(b"42", "text/plain") == "42"
    assert decode(b"42") == 42
    assert decode(b"hello") == "hello"
    assert decode(b"\xff\xfe") == b"\xff\xfe"
    assert decode(b"{not json") == "{not json"
    assert decode(b"abc", "application/octet-stream") == b"abc"
    assert sniff(b"") is None


def test_workflow_payloads_keep_falsy_values() -> None:
    for value in (0, False, "", [], {}):
        assert json_text(value) is not None
        assert from_json_text(json_text(value)) == value
    assert json_text(None) is None and from_json_text(None) is None


def test_job_data_packs_and_unpacks() -> None:
    for value in ({"a": 1}, "text", b"\x00raw"):
        packed = jobs.pack(value)
        assert packed is not None
        assert jobs.unpack(packed) == value
    assert jobs.pack(None) is None


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_values_nested_past_pythons_limit_are_a_clear_error_out_and_text_in() -> None:
    with pytest.raises(NestedTooDeeply, match="nested too deeply") as info:
        encode(_nested(3000))
    assert isinstance(info.value, ValueError) and "levels" in str(info.value)
    deep = b"[" * 3000 + b"]" * 3000
    assert decode(deep, "application/json") == deep.decode()  # kept as text, never a RecursionError
    assert decode(deep) == sniff(deep) == deep.decode()
    assert from_json_text(deep.decode()) == deep.decode()


def test_check_depth_counts_levels_and_stops_on_cycles() -> None:
    check_depth(_nested(256), 256)
    check_depth([[1], {"a": [2]}, "text", b"bytes"], 3)
    with pytest.raises(NestedTooDeeply, match="the limit is 256 levels"):
        check_depth(_nested(257), 256)
    with pytest.raises(NestedTooDeeply, match="the body"):
        check_depth([[[]]], 2, "the body")
    shared: list[object] = [[[]]]
    check_depth([shared, [shared]], 5)  # a part shared at two depths counts at the deeper one
    with pytest.raises(NestedTooDeeply):
        check_depth([shared, [shared]], 4)
    loop: list[object] = []
    loop.extend([loop, loop])
    with pytest.raises(NestedTooDeeply):
        check_depth(loop, 256)
