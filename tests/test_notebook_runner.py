"""`dapr-nb run`: notebooks execute against a fresh sandbox; the first failing cell is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    nb = new_notebook()
    nb.cells = [new_code_cell(source, metadata={"tags": tags}) for source, tags in cells]
    nbformat.write(nb, path)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dapr_nb.cli", "run", *args], capture_output=True, text=True, timeout=180
    )


def test_notebook_runs_against_a_fresh_sandbox(tmp_path: Path) -> None:
    nb = write_notebook(
        tmp_path / "ok.ipynb",
        [
            ("import os\nfrom dapr.clients import DaprClient\nclient = DaprClient()", []),
            ("meta = client.get_metadata()\nprint('app', meta.application_id)", []),
            ("raise RuntimeError('only with real daprd')", ["needs-daprd"]),
        ],
    )
    result = run(str(nb), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    executed = nbformat.read(tmp_path / "out" / "ok.ipynb", as_version=4)
    assert "app sandbox" in executed.cells[1].outputs[0]["text"]
    assert executed.cells[2].outputs == []  # the tagged cell was skipped
    assert (tmp_path / "out" / "ok.html").is_file()


def test_first_failing_cell_is_named_and_the_run_fails(tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "bad.ipynb", [("x = 1", []), ("1 / 0", []), ("never = True", [])])
    result = run(str(nb), "--output-dir", str(tmp_path / "out"), "--no-html")
    assert result.returncode == 1
    assert "cell 1 failed" in result.stderr and "ZeroDivisionError" in result.stderr
    executed = nbformat.read(tmp_path / "out" / "bad.ipynb", as_version=4)
    assert executed.cells[2].outputs == []


def test_missing_notebook_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.ipynb"))
    assert result.returncode == 2 and "no such notebook" in result.stderr
