"""gRPC methods of the secrets building block (thin: protobuf <-> blocks.secrets)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import secret_pb2 as api

from ..blocks import secrets
from ._base import RpcBase, unary


class SecretRpcs(RpcBase):
    """GetSecret and GetBulkSecret."""

    @unary
    def GetSecret(  # noqa: N802
        self, request: api.GetSecretRequest, context: grpc.ServicerContext
    ) -> api.GetSecretResponse:
        """Return one secret's key/value map."""
        data = secrets.get_secret(self.runtime, request.store_name, request.key, dict(request.metadata))
        return api.GetSecretResponse(data=data)

    @unary
    def GetBulkSecret(  # noqa: N802
        self, request: api.GetBulkSecretRequest, context: grpc.ServicerContext
    ) -> api.GetBulkSecretResponse:
        """Return every secret of the store."""
        data = secrets.get_bulk(self.runtime, request.store_name, dict(request.metadata))
        return api.GetBulkSecretResponse(
            data={name: api.SecretResponse(secrets=values) for name, values in data.items()}
        )
