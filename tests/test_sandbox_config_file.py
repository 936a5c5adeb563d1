"""`dapr-nb sandbox --config FILE` and daprd's port flag names: what people copy from `dapr run` starts the sandbox."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from test_cli import start

from dapr_nb.cli import main
from dapr_nb.sandbox.config_file import read_configuration
from dapr_nb.sandbox.errors import ComponentError

TRACING = """\
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: serverconfig}
spec:
  tracing: {samplingRate: "1", zipkin: {endpointAddress: "http://localhost:9411/api/v2/spans"}}
  features: [{name: proxy.grpc, enabled: true}]
"""

ACCESS_CONTROL = """\
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: locked}
spec:
  accessControl: {defaultAction: deny, trustDomain: public}
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_harmless_sections_are_named_as_not_applied(tmp_path: Path) -> None:
    assert read_configuration(write(tmp_path, TRACING)) == ["features", "tracing"]


def test_a_restricting_section_stops_start_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ComponentError, match="does not enforce spec.accessControl"):
        read_configuration(write(tmp_path, ACCESS_CONTROL))
    config = write(tmp_path, ACCESS_CONTROL)
    assert main(["sandbox", "--config", str(config), "--data-dir", str(tmp_path / "d"), "--grpc-port", "0"]) == 2
    assert "dapr-nb daprd start" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["kind: Component\n", "{{{", ""])
def test_a_file_that_is_not_one_configuration_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ComponentError, match="--config"):
        read_configuration(write(tmp_path, text))


def test_dapr_run_flags_start_the_sandbox(tmp_path: Path) -> None:
    config = write(tmp_path, TRACING)
    args = ["--dapr-grpc-port", "0", "--dapr-http-port", "0", "--config", str(config), "--data-dir", str(tmp_path)]
    proc, found = start(args)
    try:
        assert int(found[1]) > 0 and int(found[2]) > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "does not apply spec.features, spec.tracing" in err
