"""Workflows authored in notebook cells, through a real IPython shell: define, run, redefine, run again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from dapr_nb.sandbox import Sandbox


@pytest.fixture
def shell(sdk_env: Sandbox) -> Iterator[InteractiveShell]:
    from dapr_nb import workflows

    sh = InteractiveShell.instance()
    yield sh
    workflows.default_host.stop()
    sh.user_ns.pop("wf", None)


def run(sh: InteractiveShell, cell: str) -> object:
    result = sh.run_cell(cell)
    if not result.success:
        raise AssertionError(f"cell failed: {result.error_in_exec or result.error_before_exec}")
    return result.result


CHAIN = '''
@wf.activity
def greet(ctx, name):
    return f"{GREETING} {name}"

@wf.workflow
def hello(ctx, name):
    first = yield ctx.call_activity(greet, input=name)
    return first + "!"
'''


def test_define_run_redefine_run_again(shell: InteractiveShell) -> None:
    run(shell, "from dapr_nb import workflows as wf")
    run(shell, 'GREETING = "hello"\n' + CHAIN)
    assert run(shell, 'wf.run(hello, "ada", timeout=30)') == "hello ada!"
    # Re-running the cell with a changed activity replaces it in the running runtime.
    run(shell, 'GREETING = "bonjour"\n' + CHAIN)
    assert run(shell, 'wf.run(hello, "ada", timeout=30)') == "bonjour ada!"
    # A workflow with a new name, defined while the runtime runs, is served too.
    run(shell, "@wf.workflow\ndef shout(ctx, text):\n    return text.upper()")
    assert run(shell, 'wf.run(shout, "quiet", timeout=30)') == "QUIET"
    assert set(run(shell, 'wf.default_host.definitions("workflow")')) >= {"hello", "shout"}  # type: ignore[arg-type]


def test_activity_errors_read_as_one_line_failures(shell: InteractiveShell) -> None:
    run(shell, "from dapr_nb import workflows as wf")
    run(
        shell,
        "@wf.activity\ndef boom(ctx, _):\n    raise ValueError('the warehouse is on fire')\n\n"
        "@wf.workflow\ndef doomed(ctx, _):\n    yield ctx.call_activity(boom)",
    )
    message = run(shell, "try:\n    wf.run(doomed, timeout=30)\nexcept wf.WorkflowFailed as f:\n    out = str(f)\nout")
    assert isinstance(message, str)
    assert "doomed" in message and "failed" in message and "the warehouse is on fire" in message
