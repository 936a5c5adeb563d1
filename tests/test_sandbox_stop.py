"""Stopping the sandbox under load is bounded, and a held data directory names the PID that holds it.

Each stop trial starts ``python -m dapr_nb.sandbox`` on the same data directory, loads it with open
streams, blocking waits, a stream of unary calls and two idle HTTP connections (one mid-request), then
stops it by SIGTERM or the Shutdown RPC (alternately) and waits for the process to exit; the next
trial starting on the same directory proves the lock was released. The default run makes 3 trials;
``DAPR_NB_STOP_TRIALS=50`` makes the full 50 (and prints the slowest exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import grpc
import grpc.aio
import pytest
from dapr.proto.runtime.v1 import configuration_pb2, dapr_pb2, dapr_pb2_grpc, pubsub_pb2, state_pb2

from dapr_nb.core._durabletask import protos, stub_class
from dapr_nb.sandbox.errors import ComponentError
from dapr_nb.sandbox.process import READY
from dapr_nb.sandbox.server import lock_data_dir

TRIALS = int(os.environ.get("DAPR_NB_STOP_TRIALS") or 3)
EXIT_GUARD = 60.0
"""How long a trial waits for the process to exit: a guard against hanging the suite, not a timing claim."""
STREAMS = 150
WATCH = configuration_pb2.SubscribeConfigurationRequest(store_name="configstore")
LOAD_CALLS = 40
"""Unary calls that must have succeeded before the stop is sent (the load is really on)."""


def start_sandbox(data_dir: Path) -> tuple[subprocess.Popen[str], re.Match[str], list[str]]:
    """Start a sandbox process; return it, its ready line's match and (filling in the background) its output."""
    args = [sys.executable, "-m", "dapr_nb.sandbox", "--grpc-port", "0", "--http-port", "0", "--data-dir",
            str(data_dir)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    for line in proc.stdout:
        output.append(line)
        found = READY.search(line)
        if found:
            threading.Thread(target=_drain, args=(proc.stdout, output), daemon=True).start()
            return proc, found, output
    proc.wait()
    raise AssertionError(f"the sandbox did not start: {''.join(output)}")


def _drain(stream: IO[str], output: list[str]) -> None:
    with stream:
        output.extend(stream)


async def open_streams(dapr: Any, hub: Any, tag: str) -> list[Any]:
    """Open subscriptions, configuration watches, work-item streams and blocking waits."""
    calls: list[Any] = []
    instances = [f"{tag}-wf-{i}" for i in range(STREAMS)]
    for instance in instances:  # before any worker connects, so StartInstance does not wait for one
        await hub.StartInstance(protos().CreateInstanceRequest(name="wf", instanceId=instance), timeout=EXIT_GUARD)
    for i in range(STREAMS):
        subscription = dapr.SubscribeTopicEventsAlpha1()
        initial = pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic=f"{tag}-{i}")
        await subscription.write(pubsub_pb2.SubscribeTopicEventsRequestAlpha1(initial_request=initial))
        calls.append(subscription)
        calls.append(dapr.SubscribeConfiguration(WATCH))
        calls.append(hub.GetWorkItems(protos().GetWorkItemsRequest()))
        calls.append(hub.WaitForInstanceCompletion(protos().GetInstanceRequest(instanceId=instances[i])))
    return calls


async def traffic(dapr: Any, hub: Any, tag: str, done: list[int]) -> None:
    """Issue unary calls until cancelled or the sandbox goes away; count the ones that succeeded."""
    n = 0
    while True:
        n += 1
        key = f"{tag}-{n}"
        try:
            item = state_pb2.SaveStateRequest(store_name="statestore", states=[{"key": key, "value": b"v"}])
            await dapr.SaveState(item, timeout=EXIT_GUARD)
            await dapr.GetState(state_pb2.GetStateRequest(store_name="statestore", key=key), timeout=EXIT_GUARD)
            event = pubsub_pb2.PublishEventRequest(pubsub_name="pubsub", topic=f"{tag}-{n % STREAMS}", data=b"{}",
                                                   data_content_type="application/json")  # fmt: skip
            await dapr.PublishEvent(event, timeout=EXIT_GUARD)
            started = protos().CreateInstanceRequest(name="wf", instanceId=f"{tag}-load-{n}")
            started.scheduledStartTimestamp.FromSeconds(int(time.time()) + 3600)  # no wait for a worker
            await hub.StartInstance(started, timeout=EXIT_GUARD)
        except grpc.aio.AioRpcError:
            return  # the sandbox is stopping
        done.append(n)


def idle_http_connections(ready: re.Match[str]) -> list[socket.socket]:
    """Open an idle keep-alive HTTP connection and one with a half-sent request (each may hold a server thread)."""
    idle = socket.create_connection((ready["http"], int(ready["hport"])))
    idle.sendall(b"GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 ")
    half = socket.create_connection((ready["http"], int(ready["hport"])))
    half.sendall(b"POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[")
    return [idle, half]


async def stop_under_load(ready: re.Match[str], proc: subprocess.Popen[str], tag: str, by_rpc: bool) -> float:
    """Load the sandbox, stop it; return the seconds from the stop request to the process's exit."""
    sockets = idle_http_connections(ready)
    async with grpc.aio.insecure_channel(f"{ready['grpc']}:{ready['gport']}") as channel:
        dapr, hub = dapr_pb2_grpc.DaprStub(channel), stub_class()(channel)
        calls = await open_streams(dapr, hub, tag)
        done: list[int] = []
        workers = [asyncio.ensure_future(traffic(dapr, hub, f"{tag}-{i}", done)) for i in range(8)]
        for _ in range(3000):
            if len(done) >= LOAD_CALLS:
                break
            await asyncio.sleep(0.01)
        assert len(done) >= LOAD_CALLS, "the load never got going"
        began = time.monotonic()
        if by_rpc:
            await dapr.Shutdown(dapr_pb2.ShutdownRequest(), timeout=EXIT_GUARD)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, EXIT_GUARD)
        finally:
            elapsed = time.monotonic() - began
            for task in workers:
                task.cancel()
            for call in calls:
                call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*workers, return_exceptions=True)
            for sock in sockets:
                sock.close()
    return elapsed


@pytest.mark.timeout(max(120, 10 * TRIALS))
def test_stop_under_load_always_exits_and_releases_the_data_dir(tmp_path: Path) -> None:
    times: list[float] = []
    for trial in range(TRIALS):
        proc, ready, output = start_sandbox(tmp_path / "data")  # the previous trial's lock must be gone
        try:
            times.append(asyncio.run(stop_under_load(ready, proc, f"t{trial}", by_rpc=trial % 2 == 1)))
        except subprocess.TimeoutExpired:
            proc.kill()
            said = "".join(output[-20:])
            raise AssertionError(f"trial {trial}: the sandbox did not exit; it said:\n{said}") from None
        assert proc.returncode == 0, "".join(output[-20:])
    print(f"{TRIALS} stop-under-load trials: max exit {max(times):.2f}s, mean {sum(times) / len(times):.2f}s")
    proc, _, _ = start_sandbox(tmp_path / "data")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(EXIT_GUARD) == 0


def test_a_held_data_dir_names_the_live_owner(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path)
    try:
        with pytest.raises(ComponentError) as refusal:
            lock_data_dir(tmp_path)
    finally:
        held.close()
    message = str(refusal.value)
    assert f"(PID {os.getpid()})" in message and f"kill {os.getpid()}" in message and "--data-dir" in message


def test_a_lock_left_by_a_dead_owner_is_taken_over(tmp_path: Path, dead_pid: int) -> None:
    (tmp_path / "sandbox.lock").write_text(f"{dead_pid}\n")
    handle = lock_data_dir(tmp_path)
    try:
        assert (tmp_path / "sandbox.lock").read_text() == f"{os.getpid()}\n"
    finally:
        handle.close()


def test_a_lock_held_under_a_dead_pid_says_so(tmp_path: Path, dead_pid: int) -> None:
    held = lock_data_dir(tmp_path)
    try:
        (tmp_path / "sandbox.lock").write_text(f"{dead_pid}\n")  # as if a child inherited the owner's lock
        with pytest.raises(ComponentError, match=f"PID {dead_pid}, which is gone"):
            lock_data_dir(tmp_path)
    finally:
        held.close()


@pytest.fixture
def dead_pid() -> int:
    """Return the PID of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
