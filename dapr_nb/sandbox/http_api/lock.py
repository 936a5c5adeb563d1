"""daprd's HTTP routes for the lock building block (thin: JSON <-> blocks.lock)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
