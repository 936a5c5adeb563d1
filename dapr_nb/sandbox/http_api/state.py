"""daprd's HTTP routes for the state building block (thin: JSON <-> blocks.state)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
