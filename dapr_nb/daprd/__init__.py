"""Real daprd for tests and notebooks: ``build`` it from its Go module once, then ``Daprd()`` runs it.

``dapr-nb daprd build|start|path`` is the shell side (see :mod:`dapr_nb.daprd.cli`).
"""

from .build import DAPR_VERSION, Binaries, BuildError, BuildReport, binaries, build
from .process import Daprd, DaprdStartError

__all__ = [
    "DAPR_VERSION",
    "Binaries",
    "BuildError",
    "BuildReport",
    "Daprd",
    "DaprdStartError",
    "binaries",
    "build",
]
