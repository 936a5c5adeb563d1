"""Channels and drivers: the only code that differs between the sync and the async client.

Rule: endpoint parsing and channel options live in ``config``/``channels``; ``sync`` and ``aio`` drive core
operations; ``streams``/``aio_streams`` hold the stream objects; ``http`` is the one HTTP implementation.
"""
