"""The embedded daprd-compatible sandbox sidecar: ``Sandbox`` for Python, ``dapr-nb sandbox`` for the shell."""

from .process import Sandbox, SandboxStartError
from .server import SandboxConfig, SandboxServer

__all__ = ["Sandbox", "SandboxConfig", "SandboxServer", "SandboxStartError"]
