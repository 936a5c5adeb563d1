"""daprd's HTTP routes for the bindings building block (thin: JSON <-> blocks.bindings)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
