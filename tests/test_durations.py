"""The one duration parser: Go's ``time.ParseDuration``, contrib's metadata durations, dapr/kit's ISO 8601.

Expected values and messages are what Go 1.24 / contrib / dapr/kit give for the same text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dapr_nb.sandbox.components import BuildContext
from dapr_nb.sandbox.components.pubsub_memory import InMemoryPubSub
from dapr_nb.sandbox.components.state_sqlite import SqliteStateStore
from dapr_nb.sandbox.durations import metadata_seconds, parse_go_duration, parse_iso8601_duration
from dapr_nb.sandbox.errors import ComponentError
from dapr_nb.sandbox.resources import ComponentSpec

S, MS, US = 10**9, 10**6, 10**3


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("0", 0), ("+0", 0), ("-0", 0), ("0s", 0), ("1ns", 1), ("1us", US), ("1\u00b5s", US), ("1\u03bcs", US),
        ("300ms", 300 * MS), ("1.5s", 3 * S // 2), (".5s", S // 2), ("1.s", S), ("-1s", -S), ("+2m", 120 * S),
        ("1h2m3.5s", 3723 * S + S // 2), ("2h45m", (2 * 3600 + 45 * 60) * S), ("1.000000001s", S + 1),
        ("0.0000000001s", 0), ("9223372036854775807ns", 2**63 - 1), ("-9223372036854775808ns", -(2**63)),
    ],
)  # fmt: skip
def test_go_duration_accepts_what_go_accepts(text: str, nanos: int) -> None:
    assert parse_go_duration(text) == nanos


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'), ("-", 'time: invalid duration "-"'), ("s", 'time: invalid duration "s"'),
        (".s", 'time: invalid duration ".s"'), ("1", 'time: missing unit in duration "1"'),
        ("10", 'time: missing unit in duration "10"'), ("1h1", 'time: missing unit in duration "1h1"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'), ("1 s", 'time: unknown unit " s" in duration "1 s"'),
        (" 1s", 'time: invalid duration " 1s"'), ("1s ", 'time: unknown unit "s " in duration "1s "'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("PT1S", 'time: invalid duration "PT1S"'),
    ],
)  # fmt: skip
def test_go_duration_refuses_with_go_messages(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_go_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("", None), ("0", 0.0), ("30", 30.0), ("-1", -1.0), ("+5", 5.0), ("500ms", 0.5), ("1m30s", 90.0), ("-2s", -2.0)],
)
def test_metadata_duration_is_a_go_duration_or_whole_seconds(text: str, seconds: float | None) -> None:
    assert metadata_seconds(text) == seconds


@pytest.mark.parametrize("text", ["1.5", "soon", "1d", "P1D", " 5"])
def test_metadata_duration_refusal_joins_both_messages(text: str) -> None:
    with pytest.raises(ValueError) as info:
        metadata_seconds(text)
    first, second = str(info.value).split("\n")
    assert first.startswith("time: ") and second == f'strconv.ParseInt: parsing "{text}": invalid syntax'


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("P1D", (0, 0, 1, 0, -1)), ("PT2H", (0, 0, 0, 2 * 3600 * S, -1)), ("PT1M", (0, 0, 0, 60 * S, -1)),
        ("P1Y2M3W4DT5H6M7S", (1, 2, 25, 18367 * S, -1)), ("P1M", (0, 1, 0, 0, -1)),
        ("R3/PT1M", (0, 0, 0, 60 * S, 3)), ("R5", (0, 0, 0, 0, 5)),
    ],
)  # fmt: skip
def test_iso8601_duration_parts(text: str, parts: tuple[int, int, int, int, int]) -> None:
    assert parse_iso8601_duration(text) == parts


@pytest.mark.parametrize("text", ["", "P", "1D", "PT1D", "P1H", "P1.5D", "PxD", "R/PT1M"])
def test_iso8601_duration_refusals(text: str) -> None:
    with pytest.raises(ValueError, match="unsupported ISO8601 duration format"):
        parse_iso8601_duration(text)


def spec(type_: str, **metadata: str) -> ComponentSpec:
    """Return a component document with string metadata."""
    return ComponentSpec(name="c", type=type_, metadata=metadata)


def test_component_durations_take_whole_seconds_and_go_durations(tmp_path: Path) -> None:
    ctx = BuildContext(app_id="a", data_dir=tmp_path)
    assert InMemoryPubSub.from_spec(spec("pubsub.in-memory", retryInterval="2"), ctx).redelivery.interval == 2.0
    assert InMemoryPubSub.from_spec(spec("pubsub.in-memory", retryInterval="250ms"), ctx).redelivery.interval == 0.25
    with pytest.raises(ComponentError, match="retryInterval must be a duration such as 100ms or 2s"):
        InMemoryPubSub.from_spec(spec("pubsub.in-memory", retryInterval="2 s"), ctx)
    db = str(tmp_path / "s.db")
    SqliteStateStore.from_spec(spec("state.sqlite", connectionString=db, busyTimeout="3", timeout="1m"), ctx).close()
    with pytest.raises(ComponentError, match="'busyTimeout': '3x' is not a duration such as 20s"):
        SqliteStateStore.from_spec(spec("state.sqlite", connectionString=db, busyTimeout="3x"), ctx)
