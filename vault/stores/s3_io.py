"""Streams between the vault and S3: a hashing reader for uploads, a seekable object reader."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from typing import Any

from vault.errors import IntegrityViolation


class HashingReader(io.RawIOBase):
    """A read-only stream over byte chunks that hashes them as the uploader pulls them.

    With ``expected`` set, the read that finds the end of the chunks raises IntegrityViolation
    when the digest differs. The uploader has not completed the upload at that point (it needs
    to see the end first), so a wrong payload is aborted instead of stored.
    """

    def __init__(self, chunks: Iterable[bytes], *, expected: str | None, label: str) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self._finished = False
        self._expected = expected
        self._label = label
        self.hasher = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._finished:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._finish()
                break
            self.hasher.update(chunk)
            self.size += len(chunk)
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _finish(self) -> None:
        self._finished = True
        digest = self.hasher.hexdigest()
        if self._expected is not None and digest != self._expected:
            raise IntegrityViolation(
                f"{self._label}: the bytes sent hash to {digest}, expected {self._expected};"
                " the upload was aborted"
            )

    @property
    def digest(self) -> str:
        return self.hasher.hexdigest()


class ObjectReader(io.RawIOBase):
    """A seekable read-only view of one S3 object version, fetched with ranged GETs.

    Seeking drops the open response; the next read starts a new ranged GET there. PyAV seeks to
    the end of an MP4 for its index, and deliveries of a byte range start mid-object.
    """

    def __init__(self, get: Callable[[int], Any], size: int) -> None:
        self._get = get  # offset -> botocore StreamingBody starting at that offset
        self._size = size
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        target = max(0, base + offset)
        if target != self._position:
            self._drop_body()
            self._position = target
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size or len(buffer) == 0:
            return 0
        if self._body is None:
            self._body = self._get(self._position)
        data = self._body.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()
