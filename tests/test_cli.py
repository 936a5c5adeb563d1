"""`dapr-nb sandbox` as a user runs it: the ready line, env vars, signals, refusals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from _waiting import wait_until

READY = re.compile(r"sandbox ready grpc=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)")


def start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], re.Match[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dapr_nb.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = READY.search(line)
    if not found:
        proc.kill()
        raise AssertionError(f"no ready line: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, found


def test_ready_line_port_zero_and_clean_sigterm(tmp_path: Path) -> None:
    proc, found = start(["--grpc-port", "0", "--http-port", "0", "--data-dir", str(tmp_path)])
    http_port = int(found[2])
    assert int(found[1]) > 0 and http_port > 0
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v1.0/healthz", timeout=5) as response:
        assert response.status == 204
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "sandbox stopped" in out


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    proc, _ = start(["--grpc-port", "0", "--http-port", "0", "--data-dir", str(tmp_path)])
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_daprd_env_vars_are_honoured(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s1, socket.socket() as s2:
        s1.bind(("127.0.0.1", 0))
        s2.bind(("127.0.0.1", 0))
        grpc_port, http_port = s1.getsockname()[1], s2.getsockname()[1]
    proc, found = start(
        ["--data-dir", str(tmp_path)],
        env={"DAPR_GRPC_PORT": str(grpc_port), "DAPR_HTTP_PORT": str(http_port), "APP_ID": "orders"},
    )
    try:
        assert (int(found[1]), int(found[2])) == (grpc_port, http_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v1.0/metadata", timeout=5) as response:
            assert b'"id":"orders"' in response.read()
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_second_sandbox_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    proc, _ = start(["--grpc-port", "0", "--http-port", "0", "--data-dir", str(tmp_path)])
    try:
        args = ["--grpc-port", "0", "--http-port", "0", "--data-dir", str(tmp_path)]
        second = subprocess.run(
            [sys.executable, "-m", "dapr_nb.sandbox", *args], capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 2
        assert "another sandbox is using the data directory" in second.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_non_embeddable_component_stops_start_up_with_one_message(tmp_path: Path) -> None:
    res = tmp_path / "res"
    res.mkdir()
    (res / "redis.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.redis\n"
        "  version: v1\n  metadata:\n  - name: redisHost\n    value: localhost:6379\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "dapr_nb.sandbox", "--resources-path", str(res), "--data-dir", str(tmp_path / "d"),
         "--grpc-port", "0", "--http-port", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "state.redis" in lines[0] and "state.sqlite" in lines[0]


@pytest.mark.parametrize("port_flag", ["--grpc-port", "--http-port"])
def test_port_in_use_is_reported(tmp_path: Path, port_flag: str) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        other = "--http-port" if port_flag == "--grpc-port" else "--grpc-port"
        result = subprocess.run(
            [sys.executable, "-m", "dapr_nb.sandbox", port_flag, str(port), other, "0", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 2
    assert str(port) in result.stderr


def test_a_sandbox_stops_when_the_process_that_started_it_dies(tmp_path: Path) -> None:
    # A kernel killed without cleanup must not leave its sandbox running.
    script = (
        "import os, sys\n"
        "from dapr_nb.sandbox import Sandbox\n"
        f"sb = Sandbox(data_dir={str(tmp_path)!r}).start()\n"
        "print(sb.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(parent.stdout.strip())
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or "Z" in _state(pid), 15,
               "the orphaned sandbox is still running")  # fmt: skip


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0]
    except OSError:
        return "gone"
