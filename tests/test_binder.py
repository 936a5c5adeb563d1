"""Simulate Binder: a fresh venv from binder/requirements.txt, then binder/start wrapping a run of every notebook.

This is the workshop path: nothing from the developer's environment, no root, the sandbox started by the hook.
It pip-installs into a fresh venv (minutes), so it carries the ``binder`` marker: the default run deselects it
and ``.ci/run`` runs it separately with ``python -m pytest -q -m binder``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.binder
@pytest.mark.timeout(1500)
def test_binder_install_and_start_run_every_notebook(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    data_dir = tmp_path / "sandbox-data"
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DAPR_GRPC_PORT": str(free_port()),
        "DAPR_HTTP_PORT": str(free_port()),
        "DAPR_NB_DATA_DIR": str(data_dir),
        "DAPR_NB_SANDBOX_LOG": str(tmp_path / "sandbox.log"),
    }
    notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    check_sidecar = (
        "import os, urllib.request; "
        "urllib.request.urlopen(os.environ['DAPR_HTTP_ENDPOINT'] + '/v1.0/healthz', timeout=5); print('sidecar up')"
    )
    command = (
        f"python -c \"{check_sidecar}\" && "
        f"dapr-nb run --use-env --no-html --output-dir {tmp_path / 'out'} {' '.join(notebooks)}"
    )
    try:
        run = subprocess.run(
            [str(ROOT / "binder" / "start"), "bash", "-c", command],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
    finally:
        _stop_sandbox(data_dir)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "sidecar up" in run.stdout
    assert sorted(p.name for p in (tmp_path / "out").glob("*.ipynb")) == sorted(Path(n).name for n in notebooks)


def _stop_sandbox(data_dir: Path) -> None:
    """binder/start leaves the sandbox running behind the exec'd command (as on Binder); stop it by its pid."""
    lock = data_dir / "sandbox.lock"
    pid = lock.read_text().strip() if lock.exists() else ""
    if pid.isdigit():
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
