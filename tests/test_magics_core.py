"""The ``%dapr`` extension itself: loading, help, dispatch errors, values, settings, connection, kernel sandbox."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from sidecars import Sidecar

from dapr_nb.magics.registry import REGISTRY
from dapr_nb.sandbox import Sandbox

if TYPE_CHECKING:
    from magics_support import Cells

pytest_plugins = ["magics_support"]


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, dapr_nb; print(any(m.startswith(('IPython', 'pandas', 'grpc')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_help(cells: Cells) -> None:
    overview = str(cells.run("%dapr"))
    assert overview == str(cells.run("%dapr help"))
    for group in REGISTRY.groups():
        assert f"\n{group}:" in overview
    state = str(cells.run("%dapr help state"))
    assert "%dapr state get STORE KEY [KEY ...]" in state and "examples:" in state and "workflow" not in state
    assert "groups:" in cells.fail("%dapr help nothing")


def test_unknown_commands_and_arguments(cells: Cells) -> None:
    assert "unknown command 'frobnicate'" in cells.fail("%dapr frobnicate")
    assert "unknown verb 'fetch'" in cells.fail("%dapr state fetch statestore k")
    assert "a verb is needed" in cells.fail("%dapr workflow")
    assert "required" in cells.fail("%dapr lock acquire lockstore")
    assert "unrecognized arguments" in cells.fail("%dapr metadata extra")
    assert "invalid int" in cells.fail("%dapr state set statestore k v --ttl soon")
    assert "quotes" in cells.fail("%dapr state get statestore 'unbalanced")
    assert "first line" in cells.fail("%%dapr\n{}")


def test_interpolation_binding_and_output_variable(dapr: Cells, unique: Callable[[str], str]) -> None:
    key = unique("interp")
    dapr.ns.update(store="statestore", key=key, payload={"a": [1, 2]})
    dapr.run("%dapr state set {{store}} {{key}} :payload")
    df = dapr.run("%dapr state get {{ store }} {{key}}")
    assert df.loc[0, "key"] == key and df.loc[0, "a"] == [1, 2]
    assert "unknown variable 'nope'" in dapr.fail("%dapr state get statestore {{nope}}")
    assert "unknown variable 'nope'" in dapr.fail("%dapr state set statestore k :nope")
    assert "variable name" in dapr.fail("%dapr state get statestore {{1+1}}")
    dapr.run(f'%%dapr state set statestore -o ignored\n{{"{key}": "{{{{key}}}}"}}')
    assert dapr.run(f"%dapr state get statestore {key}").loc[0, "value"] == key
    assert "variable name" in dapr.fail('%%dapr state set statestore -o 1bad\n{"a": 1}')


def test_traitlets_config(dapr: Cells) -> None:
    dapr.run("%config Dapr.timeout = 3.5")
    dapr.run("%config Dapr.max_rows = 7")
    assert dapr.magics.options().timeout == 3.5 and dapr.magics.options().max_rows == 7
    dapr.run("%config Dapr.endpoint = '127.0.0.1:1'")
    message = dapr.fail("%dapr state get statestore k")
    assert "UNAVAILABLE" in message and "127.0.0.1:1" in message
    dapr.run("%config Dapr.endpoint = ''")
    assert dapr.run("%dapr state get statestore k").shape[0] == 1
    dapr.run("%config Dapr.endpoint = 'http://bad/path'")
    assert "bad endpoint" in dapr.fail("%dapr status")


def test_connect_switches_only_to_a_sidecar_that_answers(dapr: Cells, sidecar: Sidecar) -> None:
    status = dapr.run(f"%dapr connect {sidecar.grpc_endpoint} --http {sidecar.http_endpoint}")
    assert status.app_id == sidecar.app_id and status.grpc_endpoint == sidecar.grpc_endpoint
    assert "UNAVAILABLE" in dapr.fail("%dapr connect 127.0.0.1:1")
    assert dapr.magics.session.endpoint == sidecar.grpc_endpoint  # the failed connect changed nothing
    assert "is not set" in dapr.fail("%dapr connect --token-env DAPR_NB_NO_SUCH_VAR")
    assert dapr.run("%dapr connect").healthy  # back to following DAPR_*


def test_sidecar_down_and_wrong_token(
    cells: Cells, make_sandbox: Callable[..., Sandbox], point_sdk: Callable[[Sandbox], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sb = make_sandbox(api_token="right-token")
    point_sdk(sb)
    assert cells.run("%dapr state get statestore k").shape[0] == 1
    monkeypatch.setenv("MY_DAPR_TOKEN", "wrong-token")
    message = cells.fail(f"%dapr connect {sb.grpc_endpoint} --token-env MY_DAPR_TOKEN")
    assert "UNAUTHENTICATED" in message
    monkeypatch.setenv("MY_DAPR_TOKEN", "right-token")
    cells.run(f"%dapr connect {sb.grpc_endpoint} --token-env MY_DAPR_TOKEN")
    cells.run("%dapr connect")
    monkeypatch.setenv("DAPR_API_TOKEN", "wrong-token")  # the next command follows the environment
    assert "UNAUTHENTICATED" in cells.fail("%dapr state get statestore k")
    assert "UNAUTHENTICATED" in cells.fail("%dapr connect")
    monkeypatch.setenv("DAPR_API_TOKEN", "right-token")
    sb.stop()
    message = cells.fail("%dapr state get statestore k")
    assert "UNAVAILABLE" in message and sb.grpc_endpoint in message


def test_kernel_sandbox(cells: Cells, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPR_GRPC_ENDPOINT", "127.0.0.1:1")
    assert "no sandbox" in cells.fail("%dapr sandbox status")
    status = cells.run("%dapr sandbox start")
    sb = cells.magics.session.sandbox
    assert sb is not None and status.healthy and status.grpc_endpoint == sb.grpc_endpoint
    assert os.environ["DAPR_GRPC_ENDPOINT"] == sb.grpc_endpoint and os.environ["DAPR_HTTP_PORT"] == str(sb.http_port)
    assert cells.run("%dapr sandbox status").sandbox.endswith(str(sb.pid))
    cells.run("%dapr state set statestore k 1")
    assert cells.run("%dapr state get statestore k").loc[0, "value"] == 1
    cells.run("%dapr sandbox stop")
    assert cells.magics.session.sandbox is None and os.environ["DAPR_GRPC_ENDPOINT"] == "127.0.0.1:1"
    assert "UNAVAILABLE" in cells.fail("%dapr state get statestore k")


def test_unload_and_reload(cells: Cells) -> None:
    shell = cells.shell
    shell.run_cell("%unload_ext dapr_nb")
    assert "dapr" not in shell.magics_manager.magics["line"]
    assert shell.run_cell("%load_ext dapr_nb").success
    assert "dapr" in shell.magics_manager.magics["cell"]


_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # IPython itself warns on odd line ends
_GROUPS = [g for g in REGISTRY.groups() if g not in ("sandbox", "connect", "subscribe")]
_VERBS = sorted({v for (_, v, _) in REGISTRY.commands if v and v != "watch"} | {"x"})
_TOKENS = st.one_of(
    st.sampled_from(["statestore", "pubsub", "lockstore", "k", "1", "{}", "[1]", "--ttl", "--etag", "--bulk",
                     "--max", "-o", "--timeout", "--input", "{{", "}}", ":", ":x", "'", '"', "--", "-", "=", "k=v"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=_BREAKS), max_size=12),
)  # fmt: skip
_BODY = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=_BREAKS[1:]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    group=st.sampled_from(_GROUPS),
    verb=st.sampled_from(_VERBS),
    rest=st.lists(_TOKENS, max_size=5),
    cell=st.one_of(st.none(), _BODY),
)
def test_random_lines_only_ever_give_usage_errors(
    dapr: Cells, group: str, verb: str, rest: list[str], cell: str | None
) -> None:
    dapr.run("%config Dapr.timeout = 2")
    dapr.run("%config Dapr.wait_timeout = 1")
    line = " ".join([group, verb, *rest])
    text = f"%dapr {line}" if cell is None else f"%%dapr {line}\n{cell}"
    result = dapr.shell.run_cell(text)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        assert isinstance(error, UsageError), f"{type(error).__name__}: {error} ← {text!r}"
        assert "\n" not in str(error)
