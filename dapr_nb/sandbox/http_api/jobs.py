"""daprd's HTTP routes for the jobs building block (thin: JSON <-> blocks.jobs)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
