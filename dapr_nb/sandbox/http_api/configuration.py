"""daprd's HTTP routes for the configuration building block (thin: JSON <-> blocks.configuration)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
