"""A sandbox that exits during start-up reports its own error at once, not a start-up timeout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.process import SandboxStartError

UNKNOWN_TYPE = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: weird}
spec:
  type: state.nosuch
  version: v1
"""


def test_unknown_component_type_reports_the_exit_promptly(tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "weird.yaml").write_text(UNKNOWN_TYPE)
    began = time.monotonic()
    with pytest.raises(SandboxStartError) as info:
        Sandbox(resources_path=resources, data_dir=tmp_path / "data", start_timeout=60).start()
    assert time.monotonic() - began < 20
    message = str(info.value)
    assert "exited with code" in message and "did not start within" not in message
    assert "state.nosuch" in message and "weird" in message
