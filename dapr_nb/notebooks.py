"""``dapr-nb run``: execute notebooks headless against a fresh sidecar and keep executed copies.

Rules: every notebook gets its own sidecar — a sandbox (clean data directory) or, with
``--sidecar daprd``, a real daprd built by ``dapr-nb daprd build`` with a random API token — so
notebooks cannot depend on each other's leftovers. Two cell tags choose what runs where: cells
tagged ``needs-daprd`` run only against real daprd, cells tagged ``sandbox-only`` (``%dapr sandbox
start``, the sandbox's admin helpers, features daprd's stores lack) only against the sandbox; with
``--sidecar env`` (the sidecar the DAPR_* variables name) the sidecar's metadata decides: a dapr_nb
sandbox (runtime version ``…-dapr-nb-sandbox``, e.g. Binder's) is treated as ``sandbox``, anything else as
``daprd``. The first failing cell stops the run, and the message names the notebook, the cell number and
the error.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("dapr_nb")

SIDECARS = ("sandbox", "daprd", "env")
SKIPPED_TAG = {"sandbox": "needs-daprd", "daprd": "sandbox-only"}
SANDBOX_VERSION_SUFFIX = "-dapr-nb-sandbox"


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
def sidecar_env(sidecar: str = "sandbox") -> Iterator[dict[str, str]]:
    """Yield the kernel's environment: pointing at a fresh sandbox or daprd, or (``env``) the DAPR_* as they are."""
    if sidecar == "env":
        yield dict(os.environ)
        return
    with _fresh(sidecar) as started:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAPR_")}
        env.update(started.env())
        yield env


def sidecar_kind() -> str:
    """Return ``sandbox`` or ``daprd`` for the sidecar the DAPR_* variables name, from its runtime version."""
    from .client import Client
    from .errors import DaprError

    try:
        with Client() as client:
            version = client.get_metadata().runtime_version
    except DaprError as exc:
        raise RuntimeError(f"--sidecar env: {exc}") from None
    return "sandbox" if version.endswith(SANDBOX_VERSION_SUFFIX) else "daprd"


def _fresh(sidecar: str) -> Any:
    """Return an unstarted sidecar of the kind named (a context manager that starts and stops it)."""
    if sidecar == "daprd":
        from .daprd import Daprd

        return Daprd(app_id="notebook", api_token=secrets.token_urlsafe(24))
    if sidecar == "sandbox":
        from .sandbox import Sandbox

        return Sandbox()
    raise ValueError(f"unknown sidecar {sidecar!r}: choose one of {', '.join(SIDECARS)}")


def execute(
    notebook: Path,
    out_dir: Path,
    *,
    timeout: int = 300,
    html: bool = True,
    kernel: str = "python3",
    sidecar: str = "sandbox",
) -> Path:
    """Execute one notebook against a fresh ``sidecar`` (see the module rules); write the executed copy (and HTML)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / notebook.name
    kind = sidecar_kind() if sidecar == "env" else sidecar
    with sidecar_env(sidecar) as env:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=kernel,
            skip_cells_with_tag=SKIPPED_TAG[kind],
            resources={"metadata": {"path": str(notebook.parent.resolve())}},
        )
        try:
            client.execute(env=env)  # the kernel process gets the sidecar's DAPR_* variables
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
    paths: list[Path], out_dir: Path, *, timeout: int = 300, html: bool = True, sidecar: str = "sandbox"
) -> int:
    """Execute each notebook in turn; return 0, or 1 at the first failure (after logging which cell)."""
    for path in paths:
        log.info("executing %s against %s", path, "the DAPR_* sidecar" if sidecar == "env" else f"a fresh {sidecar}")
        try:
            written = execute(path, out_dir, timeout=timeout, html=html, sidecar=sidecar)
        except NotebookFailure as failure:
            log.error("%s", failure)
            return 1
        log.info("wrote %s", written)
    return 0
