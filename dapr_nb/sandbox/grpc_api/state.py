"""gRPC methods of the state building block (thin: protobuf <-> blocks.state).

An ``Etag`` message that is present marks "an etag was passed" even when its value is empty; the block
treats an empty etag as none, as daprd does. SaveState decodes values sent with
``contentType=application/json`` (daprd stores the JSON, not the bytes); transactions never do.
"""

from __future__ import annotations

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import state_pb2 as api
from google.protobuf import empty_pb2

from ..blocks import state
from ..components.state_sqlite import EVENTUAL, FIRST_WRITE, LAST_WRITE, STRONG, DeleteRequest, SetRequest
from ._base import RpcBase, unary

_CONCURRENCY = {1: FIRST_WRITE, 2: LAST_WRITE}
_CONSISTENCY = {1: EVENTUAL, 2: STRONG}


# What carries a key, an etag and options: SaveState/transaction items, DeleteState and its bulk items.
_Keyed = common_pb2.StateItem | api.DeleteStateRequest


def _options(item: _Keyed) -> tuple[str, str]:
    if not item.HasField("options"):
        return "", ""
    return _CONCURRENCY.get(item.options.concurrency, ""), _CONSISTENCY.get(item.options.consistency, "")


def _etag(message: _Keyed) -> str | None:
    return message.etag.value if message.HasField("etag") else None


def _set_request(item: common_pb2.StateItem, value: object) -> SetRequest:
    concurrency, consistency = _options(item)
    return SetRequest(item.key, value, _etag(item), dict(item.metadata), concurrency, consistency)


def _delete_request(item: _Keyed) -> DeleteRequest:
    concurrency, consistency = _options(item)
    return DeleteRequest(item.key, _etag(item), dict(item.metadata), concurrency, consistency)


class StateRpcs(RpcBase):
    """GetState, GetBulkState, SaveState, DeleteState, DeleteBulkState, ExecuteStateTransaction, QueryStateAlpha1."""

    @unary
    def GetState(  # noqa: N802
        self, request: api.GetStateRequest, context: grpc.ServicerContext
    ) -> api.GetStateResponse:
        """Read one key; a missing key answers empty data and etag."""
        item = state.get_state(self.runtime, request.store_name, request.key, dict(request.metadata))
        return api.GetStateResponse(data=item.data or b"", etag=item.etag or "", metadata=item.metadata)

    @unary
    def GetBulkState(  # noqa: N802
        self, request: api.GetBulkStateRequest, context: grpc.ServicerContext
    ) -> api.GetBulkStateResponse:
        """Read several keys; missing keys are items without data."""
        items = state.get_bulk_state(self.runtime, request.store_name, list(request.keys), dict(request.metadata))
        return api.GetBulkStateResponse(
            items=[
                api.BulkStateItem(key=i.key, data=i.data or b"", etag=i.etag or "", metadata=i.metadata) for i in items
            ]
        )

    @unary
    def SaveState(self, request: api.SaveStateRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:  # noqa: N802
        """Save items one by one (not atomically), as daprd does."""
        items = [_set_request(s, state.decode_json_value(s.value, s.metadata)) for s in request.states]
        state.save_state(self.runtime, request.store_name, items)
        return empty_pb2.Empty()

    @unary
    def DeleteState(  # noqa: N802
        self, request: api.DeleteStateRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Delete one key, conditionally when an etag is given."""
        state.delete_state(self.runtime, request.store_name, _delete_request(request))
        return empty_pb2.Empty()

    @unary
    def DeleteBulkState(  # noqa: N802
        self, request: api.DeleteBulkStateRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Delete several keys one by one, each with its own etag."""
        state.delete_bulk_state(self.runtime, request.store_name, [_delete_request(s) for s in request.states])
        return empty_pb2.Empty()

    @unary
    def ExecuteStateTransaction(  # noqa: N802
        self, request: api.ExecuteStateTransactionRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Apply upserts and deletes atomically."""
        ops = [
            state.TransactionOp(o.operationType, _set_request(o.request, o.request.value)) for o in request.operations
        ]
        state.execute_transaction(self.runtime, request.storeName, ops)
        return empty_pb2.Empty()

    @unary
    def QueryStateAlpha1(  # noqa: N802
        self, request: api.QueryStateRequest, context: grpc.ServicerContext
    ) -> api.QueryStateResponse:
        """Run a state query (filter, sort, page)."""
        page = state.query_state(self.runtime, request.store_name, request.query, dict(request.metadata))
        return api.QueryStateResponse(
            results=[api.QueryStateItem(key=d.key, data=d.data, etag=d.etag) for d in page.results],
            token=page.token,
        )
