"""``dapr-nb run``: execute notebooks headless against a fresh sandbox and keep executed copies.

Rules: every notebook gets its own sandbox (a clean data directory) so notebooks cannot depend on
each other's leftovers; cells tagged ``needs-daprd`` (cells that only work against real daprd) are
skipped; the first failing cell stops the run, and the message names the notebook, the cell number
and the error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("dapr_nb")

SKIP_TAG = "needs-daprd"


@dataclass(eq=False)  # not frozen: contextlib assigns __traceback__ on exceptions
class NotebookFailure(Exception):
    """A cell raised while a notebook executed."""

    notebook: Path
    cell_index: int
    source: str
    error: str

    def __str__(self) -> str:
        first_line = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return f"{self.notebook}: cell {self.cell_index} failed ({first_line!r}):\n{self.error}"


@contextmanager
def sandbox_env(use_env: bool = False) -> Iterator[dict[str, str]]:
    """Yield the kernel's environment: pointing at a fresh sandbox, or (``use_env``) the current DAPR_* as they are."""
    if use_env:
        yield dict(os.environ)
        return
    from .sandbox import Sandbox

    with Sandbox() as sb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAPR_")}
        env.update(sb.env())
        yield env


def execute(
    notebook: Path,
    out_dir: Path,
    *,
    timeout: int = 300,
    html: bool = True,
    kernel: str = "python3",
    use_env: bool = False,
) -> Path:
    """Execute one notebook against a fresh sandbox (or the DAPR_* sidecar); write the executed copy (and HTML)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / notebook.name
    with sandbox_env(use_env) as env:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=kernel,
            skip_cells_with_tag=SKIP_TAG,
            resources={"metadata": {"path": str(notebook.parent.resolve())}},
        )
        try:
            client.execute(env=env)  # the kernel process gets the sandbox's DAPR_* variables
        except CellExecutionError as exc:
            nbformat.write(nb, target)
            index, source = _failing_cell(nb)
            raise NotebookFailure(notebook, index, source, _short(str(exc))) from None
    nbformat.write(nb, target)
    if html:
        _write_html(nb, target.with_suffix(".html"))
    return target


def _failing_cell(nb: object) -> tuple[int, str]:
    cells = getattr(nb, "cells", [])
    for index, cell in enumerate(cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index, str(cell.get("source", ""))
    return -1, ""


def _short(message: str, limit: int = 2000) -> str:
    return message if len(message) <= limit else message[:limit] + "…"


def _write_html(nb: object, path: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")


def run_notebooks(
    paths: list[Path], out_dir: Path, *, timeout: int = 300, html: bool = True, use_env: bool = False
) -> int:
    """Execute each notebook in turn; return 0, or 1 at the first failure (after logging which cell)."""
    for path in paths:
        log.info("executing %s", path)
        try:
            written = execute(path, out_dir, timeout=timeout, html=html, use_env=use_env)
        except NotebookFailure as failure:
            log.error("%s", failure)
            return 1
        log.info("wrote %s", written)
    return 0
