"""One asyncio event loop in a daemon thread, for a station whose client library is async
(asyncssh), called from the ingest's worker threads, which are plain threads.

Every SFTP connection of the process lives on this loop; a worker hands it a coroutine and
waits for the result. A process forked after the loop started makes a loop of its own: a
thread does not survive fork.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_owner_pid = 0


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _owner_pid
    with _lock:
        if _loop is None or _owner_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="station-event-loop", daemon=True
            ).start()
            _loop, _owner_pid = loop, os.getpid()
        return _loop


def submit(coroutine: Coroutine[Any, Any, T]) -> Future[T]:
    """Start ``coroutine`` on the loop; its result (or exception) arrives in the future."""
    return asyncio.run_coroutine_threadsafe(coroutine, _running_loop())


def wait(future: Future[T], timeout: float | None) -> T:
    """The future's result; after ``timeout`` seconds it is cancelled on the loop and
    TimeoutError raised (a station that stopped answering must not hold a worker forever)."""
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        future.cancel()
        raise


def run(coroutine: Coroutine[Any, Any, T], timeout: float | None) -> T:
    return wait(submit(coroutine), timeout)
