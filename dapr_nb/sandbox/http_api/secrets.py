"""daprd's HTTP routes for the secrets building block (thin: JSON <-> blocks.secrets)."""

from __future__ import annotations

from ._base import Route

ROUTES: list[Route] = []
