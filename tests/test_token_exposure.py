"""The API token never shows: not in a repr, not on a sandbox child's command line (``ps``, /proc/PID/cmdline).

``dapr-nb sandbox`` takes it as daprd does, from DAPR_API_TOKEN, or from ``--api-token-file``; ``--api-token``
still works but warns.
"""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_security import clean_env, sandbox_command

from dapr_nb.client import Client
from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.server import SandboxConfig
from dapr_nb.transport.config import Settings

SECRET = "t0p-s3cret-7f3a"
READY = re.compile(r"sandbox ready grpc=(\S+):(\d+) http=(\S+):(\d+)")


def test_no_repr_shows_the_token() -> None:
    shown = [
        repr(SandboxConfig(api_token=SECRET)),
        repr(Settings.resolve("127.0.0.1:1", api_token=SECRET)),
        repr(Sandbox(api_token=SECRET, data_dir="unused").config),
    ]
    with Client("127.0.0.1:1", api_token=SECRET) as client:
        shown += [repr(client), repr(client.settings)]
    assert not [text for text in shown if SECRET in text], shown
    assert SandboxConfig(api_token=SECRET).api_token == SECRET


def _proc_file(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode()


def _status(base: str, token: str | None = None) -> int:
    """Return the HTTP status of GET /v1.0/metadata on ``base`` (http://host:port), with ``token`` if given."""
    request = urllib.request.Request(base + "/v1.0/metadata")
    if token is not None:
        request.add_header("dapr-api-token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_sandbox_child_gets_the_token_from_its_environment_not_its_command_line(tmp_path: Path) -> None:
    with Sandbox(api_token=SECRET, data_dir=tmp_path) as sb:
        cmdline, environ = _proc_file(sb.pid, "cmdline"), _proc_file(sb.pid, "environ")
        assert "dapr_nb.sandbox" in cmdline and SECRET not in cmdline, cmdline
        assert f"DAPR_API_TOKEN={SECRET}" in environ  # as daprd takes it (self-hosted)
        assert (_status(sb.http_endpoint), _status(sb.http_endpoint, SECRET)) == (401, 200)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=30)


def _start(tmp_path: Path, procs: list[subprocess.Popen[str]], *extra: str) -> tuple[str, int]:
    """Start ``dapr-nb sandbox`` with ``extra`` flags; return its HTTP base URL and its pid."""
    proc = subprocess.Popen(
        sandbox_command(tmp_path, *extra), env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    procs.append(proc)
    assert proc.stdout is not None
    found = READY.search(proc.stdout.readline())
    assert found, proc.stderr.read() if proc.stderr else ""
    return f"http://{found[3]}:{found[4]}", proc.pid


def test_api_token_file_drops_the_trailing_newline(tmp_path: Path, started: list[subprocess.Popen[str]]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    base, pid = _start(tmp_path, started, "--api-token-file", str(token_file))
    assert SECRET not in _proc_file(pid, "cmdline")
    assert (_status(base), _status(base, SECRET)) == (401, 200)


def test_api_token_flag_still_works_and_warns(tmp_path: Path, started: list[subprocess.Popen[str]]) -> None:
    base, _ = _start(tmp_path, started, "--api-token", SECRET)
    assert (_status(base, "wrong"), _status(base, SECRET)) == (401, 200)
    started[0].terminate()
    _, err = started[0].communicate(timeout=30)
    assert "prefer DAPR_API_TOKEN or --api-token-file" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read --api-token-file"), ("\n", "is empty"), ("a\nb\n", "more than one line")],
)
def test_a_bad_token_file_stops_start_up_with_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    result = subprocess.run(
        sandbox_command(tmp_path, "--api-token-file", str(token_file)),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "sandbox ready" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_token_flag_and_file_are_exclusive(tmp_path: Path) -> None:
    command = sandbox_command(tmp_path, "--api-token", "x", "--api-token-file", str(tmp_path / "t"))
    result = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
