"""gRPC methods of the pubsub building block (thin: protobuf <-> blocks.pubsub, blocks.pubsub_stream).

``SubscribeTopicEventsAlpha1`` follows daprd's protocol: the first request must be an initial
request; the subscription exists before ``initial_response`` is sent; answers arrive on the same
stream and are read by a separate task, while this handler sends, one event at a time; both run on
the server's event loop and hold no thread. Client cancellation, EOF or a protocol error stop the
subscription through :meth:`StreamSubscription.stop`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, pubsub_pb2
from google.protobuf import empty_pb2, struct_pb2

from ..blocks.cloudevents import TopicEvent, Trace
from ..blocks.pubsub import BulkEntry, bulk_publish, publish
from ..blocks.pubsub_stream import StreamRequest, StreamSubscription, stream_error
from ._base import AioContext, RpcBase, aclose, streaming, unary

log = logging.getLogger("dapr_nb.sandbox")


def trace_of(context: grpc.ServicerContext) -> Trace:
    """Read the caller's W3C trace context from the call metadata."""
    found = {k: v for k, v in context.invocation_metadata() or () if k in ("traceparent", "tracestate")}
    return Trace(str(found.get("traceparent", "")), str(found.get("tracestate", "")))


def event_message(event: TopicEvent) -> pubsub_pb2.SubscribeTopicEventsResponseAlpha1:
    """Build the ``SubscribeTopicEventsResponseAlpha1`` carrying one event."""
    extensions = struct_pb2.Struct()
    extensions.update(event.extensions)
    request = appcallback_pb2.TopicEventRequest(
        id=event.id,
        source=event.source,
        type=event.type,
        spec_version=event.spec_version,
        data_content_type=event.data_content_type,
        data=event.data,
        topic=event.topic,
        pubsub_name=event.pubsub_name,
        path=event.path,
        extensions=extensions,
    )
    return pubsub_pb2.SubscribeTopicEventsResponseAlpha1(event_message=request)


async def _read_answers(
    requests: AsyncIterator[pubsub_pb2.SubscribeTopicEventsRequestAlpha1], session: StreamSubscription
) -> None:
    """Feed ``event_processed`` answers to the session until the client half-closes or goes away."""
    try:
        async for request in requests:
            if request.WhichOneof("subscribe_topic_events_request_type") != "event_processed":
                session.stop("duplicate initial request received")
                return
            session.acknowledge(request.event_processed.id, int(request.event_processed.status.status))
    except (grpc.RpcError, asyncio.CancelledError):
        pass  # cancelled: the handler's own cancellation closes the session
    except Exception:  # noqa: BLE001 - never let the reader die silently
        log.exception("reading subscription answers failed")
    session.stop()


async def _first_request(
    requests: AsyncIterator[pubsub_pb2.SubscribeTopicEventsRequestAlpha1],
) -> pubsub_pb2.SubscribeTopicEventsRequestAlpha1 | None:
    try:
        return await anext(aiter(requests), None)
    except grpc.RpcError:
        return None


class PubSubRpcs(RpcBase):
    """PublishEvent, BulkPublishEvent (+Alpha1) and SubscribeTopicEventsAlpha1."""

    @unary
    def PublishEvent(  # noqa: N802
        self, request: pubsub_pb2.PublishEventRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        """Publish one event."""
        publish(self.runtime, request.pubsub_name, request.topic, request.data, request.data_content_type,
                dict(request.metadata), trace_of(context))
        return empty_pb2.Empty()

    @unary
    def BulkPublishEvent(  # noqa: N802
        self, request: pubsub_pb2.BulkPublishRequest, context: grpc.ServicerContext
    ) -> pubsub_pb2.BulkPublishResponse:
        """Publish several events; like daprd, any failed entry fails the call."""
        entries = [
            BulkEntry(e.entry_id, e.event, e.content_type, dict(e.metadata) or None) for e in request.entries
        ]
        result = bulk_publish(self.runtime, request.pubsub_name, request.topic, entries,
                              dict(request.metadata), trace_of(context))
        if result.error is not None:
            raise result.error
        return pubsub_pb2.BulkPublishResponse()

    BulkPublishEventAlpha1 = BulkPublishEvent

    @streaming
    async def SubscribeTopicEventsAlpha1(  # noqa: N802
        self, request_iterator: AsyncIterator[pubsub_pb2.SubscribeTopicEventsRequestAlpha1], context: AioContext
    ) -> AsyncIterator[pubsub_pb2.SubscribeTopicEventsResponseAlpha1]:
        """Stream a topic's events to the client and take its answers on the same stream."""
        first = await _first_request(request_iterator)
        if first is None:
            return
        if first.WhichOneof("subscribe_topic_events_request_type") != "initial_request":
            raise stream_error("initial request is required")
        initial = first.initial_request
        request = StreamRequest(initial.pubsub_name, initial.topic, dict(initial.metadata),
                                initial.dead_letter_topic)
        session = StreamSubscription.open(self.runtime, request)
        reader = asyncio.ensure_future(_read_answers(request_iterator, session))
        events = session.events()
        try:
            yield pubsub_pb2.SubscribeTopicEventsResponseAlpha1(
                initial_response=pubsub_pb2.SubscribeTopicEventsResponseInitialAlpha1()
            )
            async for event in events:
                yield event_message(event)
        finally:
            reader.cancel()
            await aclose(events)
            session.close()
        if session.error:
            raise stream_error(session.error)
