"""One stream of bytes into two stores at once: the sealed and the access copy are written
from the same chunks as they arrive, the access store's put running in a thread of its own
fed through a small queue (memory stays at a few chunks whatever the file's size).

Writing both while the station's bytes arrive keeps the disks busy during the transfer
instead of after it; the copies are then proven by re-reading each from its store."""

from __future__ import annotations

import queue
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from vault.errors import IntegrityViolation, StoreError
from vault.stores.protocol import ObjectStore, Retention, StoredObject

QUEUE_CHUNKS = 4
_END = object()


class _Aborted(StoreError):
    """The writer of the other copy stopped: this copy must not be completed."""


def _drain(pipe: queue.Queue[object]) -> Iterator[bytes]:
    while True:
        item = pipe.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, bytes)
        yield item


def _hand_over(pipe: queue.Queue[object], item: object, other: Future[StoredObject]) -> None:
    """Queue ``item`` for the other writer, unless it has stopped (then raise its error)."""
    while True:
        try:
            pipe.put(item, timeout=0.2)
            return
        except queue.Full:
            if other.done():
                error = other.exception()
                raise StoreError(f"the second copy failed: {error}") from error


def put_both(
    first: ObjectStore,
    second: ObjectStore,
    chunks: Iterable[bytes],
    *,
    retention: Retention | None,
) -> tuple[StoredObject, StoredObject]:
    """Put the same bytes into both stores; raise if either put fails (the failed store
    keeps nothing; an object completed in the other store is content-addressed and is
    found again, re-hashed, on the next attempt)."""
    pipe: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)

    def tee(source: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in source:
            _hand_over(pipe, chunk, other)
            yield chunk
        _hand_over(pipe, _END, other)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-copy") as pool:
        other = pool.submit(second.put, _drain(pipe), retention=retention)
        try:
            stored = first.put(tee(chunks), retention=retention)
        except BaseException:  # the source or the first store failed: stop the other
            _abort(pipe)
            other.exception()  # wait for the other writer to give up and clean up
            raise
        copy = other.result()
    if (copy.digest, copy.size) != (stored.digest, stored.size):
        raise IntegrityViolation(
            f"{second.name} store received {copy.digest} ({copy.size} bytes) while {first.name}"
            f" received {stored.digest} ({stored.size} bytes) from the same stream"
        )
    return stored, copy


def _abort(pipe: queue.Queue[object]) -> None:
    """Make the other writer stop at its next chunk: empty the queue, then post the error
    (the queue has room once emptied; only this thread adds to it)."""
    while True:
        try:
            pipe.get_nowait()
        except queue.Empty:
            break
    pipe.put(_Aborted("the first copy did not complete"))
