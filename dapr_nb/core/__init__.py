"""Every Dapr operation, written once as a generator without I/O (see ``ops`` for the instruction set).

Rule: nothing in ``core`` imports asyncio, sleeps, opens channels, or knows about notebooks or pandas.
"""

from .ops import Call, Deadline, HttpCall, HttpReply, Op, RetryPolicy, Sleep, run_by_hand

__all__ = ["Call", "Deadline", "HttpCall", "HttpReply", "Op", "RetryPolicy", "Sleep", "run_by_hand"]
