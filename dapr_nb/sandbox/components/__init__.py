"""Embeddable component implementations, one module per component type (see ``registry.EMBEDDABLE``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..resources import ComponentSpec


@dataclass(frozen=True)
class BuildContext:
    """What a component may need from the sandbox while it is built."""

    app_id: str
    data_dir: Path


class Component:
    """Base of every embedded component: its spec, its capabilities, and close()."""

    spec: ComponentSpec

    def __init__(self, spec: ComponentSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        """Return the component's ``metadata.name``."""
        return self.spec.name

    def capabilities(self) -> list[str]:
        """Return the capability strings daprd reports for this component in GetMetadata."""
        return []

    def close(self) -> None:
        """Release files, threads and connections."""
