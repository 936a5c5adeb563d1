"""Every tutorial notebook executes top to bottom against a fresh sandbox and against a fresh real daprd.

On the sandbox cells tagged ``needs-daprd`` are skipped, on daprd those tagged ``sandbox-only``; the daprd
half skips with one line when daprd is not built (``dapr-nb daprd build``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from sidecars import Sidecar, is_daprd

from dapr_nb.daprd import binaries
from dapr_nb.notebooks import SKIPPED_TAG, sidecar_kind

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_tutorials() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05"]


def tags(cell: nbformat.NotebookNode) -> list[str]:
    """Return a cell's tags."""
    return list(cell.metadata.get("tags", []))


@pytest.mark.parametrize("sidecar", ["sandbox", "daprd"])
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(notebook: Path, sidecar: str, tmp_path: Path) -> None:
    if sidecar == "daprd" and not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    command = [sys.executable, "-m", "dapr_nb.cli", "run", str(notebook), "--output-dir", str(tmp_path), "--no-html"]
    result = subprocess.run([*command, "--sidecar", sidecar], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    executed = nbformat.read(tmp_path / notebook.name, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    skipped = SKIPPED_TAG[sidecar]
    assert all(c.get("execution_count") for c in code if skipped not in tags(c)), "a cell did not run"
    assert not any(c.get("execution_count") for c in code if skipped in tags(c)), f"a {skipped} cell ran"


def test_the_real_daprd_tutorial_has_cells_only_daprd_runs() -> None:
    nb = nbformat.read(NOTEBOOKS[-1], as_version=4)
    assert sum("needs-daprd" in tags(c) for c in nb.cells) >= 2


@pytest.mark.parametrize("notebook", NOTEBOOKS[:-1], ids=[p.stem for p in NOTEBOOKS[:-1]])
def test_each_tutorial_starts_the_sandbox_in_a_sandbox_only_cell(notebook: Path) -> None:
    """Each tutorial starts the sandbox in a cell of its own, tagged sandbox-only, so daprd runs can skip it."""
    nb = nbformat.read(notebook, as_version=4)
    starts = [c for c in nb.cells if c.cell_type == "code" and "%dapr sandbox start" in c.source]
    assert len(starts) == 1 and tags(starts[0]) == ["sandbox-only"]
    assert starts[0].source.strip().splitlines()[-1] == "%dapr sandbox start"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_stored_without_outputs(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_env_mode_tells_a_sandbox_from_daprd(sidecar_env: Sidecar) -> None:
    assert sidecar_kind() == ("daprd" if is_daprd(sidecar_env) else "sandbox")


def test_env_mode_without_a_sidecar_says_which_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DAPR_GRPC_ENDPOINT", "DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAPR_GRPC_PORT", "1")
    with pytest.raises(RuntimeError, match="127.0.0.1:1"):
        sidecar_kind()
