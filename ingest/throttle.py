"""Per-station bandwidth limit: a token bucket shared by every transfer from one station in
this process (a station's uplink is shared by its transfers, so is its budget)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator


class Throttle:
    """``rate`` bytes per second on average, bursts of at most ``burst`` bytes (one second's
    worth by default). Callers reserve bytes under a lock and sleep outside it, so concurrent
    transfers share the rate fairly instead of queueing behind one sleeper."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a bandwidth limit must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else rate
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent held back, for the log and the tests

    def take(self, size: int) -> float:
        """Account for ``size`` bytes, sleeping as long as the rate requires; returns the
        pause. Tokens may go negative: that debt is what the next caller waits out."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= size
            pause = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += pause
        if pause > 0:
            self._sleep(pause)
        return pause


def throttled(chunks: Iterator[bytes], throttle: Throttle | None) -> Iterator[bytes]:
    """The same chunks, no faster than the throttle allows (pulling slower from a network
    station slows the transfer itself through TCP's flow control)."""
    if throttle is None:
        yield from chunks
        return
    for chunk in chunks:
        throttle.take(len(chunk))
        yield chunk
