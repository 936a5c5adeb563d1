"""``dapr-nb lab``: a sandbox plus JupyterLab in one command, the sandbox stopped when Lab exits.

Rule: JupyterLab runs as a child process whose environment carries the sandbox's DAPR_* variables, so
every kernel it starts — magics, the official SDK, the workflow runtime — finds the sandbox with no setup.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .sandbox import Sandbox


def lab_command(notebooks: Path, extra: list[str]) -> list[str]:
    """Return the command that starts JupyterLab in ``notebooks``; raise RuntimeError if it is not installed."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        raise RuntimeError("JupyterLab is not installed: pip install 'dapr-nb[lab]'") from None
    return [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebooks}", *extra]


def run_lab(notebooks: Path, data_dir: Path | None, extra: list[str]) -> int:
    """Start a sandbox, run JupyterLab until it exits (or Ctrl-C), then stop the sandbox."""
    command = lab_command(notebooks, extra)
    with Sandbox(data_dir=data_dir) as sb:
        print(f"sandbox ready grpc={sb.grpc_endpoint} http={sb.http_endpoint}", flush=True)
        env = {**os.environ, **sb.env()}
        lab = subprocess.Popen(command, env=env)
        # SIGTERM (a service manager, `timeout`, a container stop) stops Lab like Ctrl-C, then the sandbox.
        signal.signal(signal.SIGTERM, lambda signum, frame: lab.send_signal(signal.SIGINT))
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.send_signal(signal.SIGINT)
            try:
                return lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
                return lab.wait()


def find_notebooks_dir() -> Path:
    """Return ./notebooks when it exists (a clone of the repo), else the current directory."""
    candidate = Path.cwd() / "notebooks"
    return candidate if candidate.is_dir() else Path.cwd()
