"""The app channel: how the sandbox calls into its app, and into other sandboxes' apps.

Rules (dapr/dapr ``pkg/channel``, ``pkg/messaging``): one :class:`~.messages.InvokeRequest` shape
enters, whichever API surface it came from; an :class:`AppChannel` (HTTP or gRPC) turns it into a
call on the app and returns an :class:`~.messages.InvokeResult`; :mod:`.direct` decides whether the
target is this sandbox's app, another sandbox found through :mod:`.nameres`, or daprd's error.
The channel never calls building blocks.
"""

from __future__ import annotations

from .messages import InvokeRequest, InvokeResult

__all__ = ["InvokeRequest", "InvokeResult"]
