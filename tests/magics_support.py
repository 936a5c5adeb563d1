"""Fixtures for the magics tests: a real IPython shell with ``%load_ext dapr_nb``, and a cell runner.

Use them with ``pytest_plugins = ["magics_support"]``. ``dapr`` runs each test once on the session sandbox and
once on the session daprd (the ``sidecar`` fixture); ``cells`` alone is for tests that bring their own sidecar.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from sidecars import Sidecar
from traitlets.config import Config


class Cells:
    """Run cells in the shell; ``run`` returns the value, ``fail`` the one-line UsageError message."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    @property
    def ns(self) -> dict[str, Any]:
        """Return the user namespace."""
        return self.shell.user_ns  # type: ignore[no-any-return]

    @property
    def magics(self) -> Any:
        """Return the loaded Dapr magics."""
        from dapr_nb.magics import _loaded

        return _loaded[id(self.shell)]

    def run(self, text: str) -> Any:
        """Run a cell that must succeed; return the value of its last line."""
        result = self.shell.run_cell(text)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise AssertionError(f"cell failed: {type(error).__name__}: {error}\n{text}")
        return result.result

    def fail(self, text: str) -> str:
        """Run a cell that must fail with a one-line UsageError; return the message."""
        result = self.shell.run_cell(text)
        error = result.error_before_exec or result.error_in_exec
        assert not result.success, f"cell succeeded: {text}"
        assert isinstance(error, UsageError), f"{type(error).__name__}: {error}"
        message = str(error)
        assert message and "\n" not in message and "Traceback" not in message, message
        return message


@pytest.fixture(scope="session")
def shell() -> Iterator[InteractiveShell]:
    """One IPython shell for all magics tests, without a history database, with dapr_nb loaded."""
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)
    result = ip.run_cell("%load_ext dapr_nb")
    assert result.success
    yield ip
    ip.run_cell("%unload_ext dapr_nb")


def _reset(magics: Any) -> None:
    for name, trait in magics.traits(config=True).items():
        setattr(magics, name, trait.default_value)
    session = magics.session
    session.endpoint = session.http_endpoint = session.token_env = None


@pytest.fixture
def cells(shell: InteractiveShell) -> Iterator[Cells]:
    """A cell runner with default ``Dapr`` settings; live views are closed after the test."""
    runner = Cells(shell)
    _reset(runner.magics)
    yield runner
    runner.magics.session.close()
    _reset(runner.magics)


@pytest.fixture
def dapr(cells: Cells, sidecar_env: Sidecar) -> Cells:
    """A cell runner whose ``%dapr`` follows ``sidecar`` (the sandbox, then daprd) through the DAPR_* variables."""
    return cells
