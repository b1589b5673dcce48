"""Reading a stream forwards in bounded chunks, for the pickle walker."""

from __future__ import annotations

from typing import IO

_CHUNK = 1 << 16


class PickleSyntaxError(Exception):
    """The data stops being a pickle here; the real unpickler would stop here too."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


class PickleLimitExceeded(Exception):
    """The pickle is valid as far as read, but larger than the scanner follows."""


class ByteReader:
    """Reads a stream forwards in chunks, keeping track of the offset."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self._base = 0  # offset of _buf[0] in the stream

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def at_end(self) -> bool:
        return self._available() == 0 and not self._fill()

    def read_byte(self) -> int:
        """The next byte, or -1 at the end of the data."""
        if self._pos >= len(self._buf) and not self._fill():
            return -1
        byte = self._buf[self._pos]
        self._pos += 1
        return byte

    def read(self, n: int) -> bytes:
        while self._available() < n:
            if not self._fill():
                raise PickleSyntaxError("the data ends inside an opcode", self.offset)
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def skip(self, n: int) -> None:
        while n > 0:
            if self._available() == 0 and not self._fill():
                raise PickleSyntaxError("the data ends inside an opcode's argument", self.offset)
            step = min(n, self._available())
            self._pos += step
            n -= step

    def read_line(self, limit: int) -> bytes | None:
        """The next line with its newline, or ``None`` (having read past it) if over ``limit``."""
        searched = 0
        while True:
            end = self._buf.find(b"\n", self._pos + searched)
            if end != -1 and end - self._pos <= limit:
                line = self._buf[self._pos : end + 1]
                self._pos = end + 1
                return line
            if end != -1 or self._available() > limit:
                self._skip_past_newline()
                return None
            searched = self._available()
            if not self._fill():
                raise PickleSyntaxError("the data ends inside a line argument", self.offset)

    def _skip_past_newline(self) -> None:
        while (end := self._buf.find(b"\n", self._pos)) == -1:
            self._pos = len(self._buf)
            if not self._fill():
                raise PickleSyntaxError("the data ends inside a line argument", self.offset)
        self._pos = end + 1

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _fill(self) -> bool:
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            return False
        self._base += self._pos
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True
