"""daprd's HTTP routes for the pubsub building block (thin: JSON <-> blocks.pubsub)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
