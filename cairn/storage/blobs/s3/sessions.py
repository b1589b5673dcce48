"""Upload sessions in the bucket, so that any process can continue any session.

Each append is one piece object, ``sessions/<id>/<offset>`` (20 digits), holding the bytes
that append brought. A piece ends where the next one begins, and the session ends at its first
gap: pieces past a gap are bytes discarded. Appending at an offset below the session's end
therefore first writes an *empty* piece there, which cuts the session at once and keeps it
cut if the append then fails; it then removes the pieces past the offset, newest first (a
crash midway leaves a shorter session, never a wrong one), and only then writes its own piece
— in bounded parts, visible only once complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cairn.errors import UploadOffsetMismatch
from cairn.storage.blobs.base import check_session_id
from cairn.storage.blobs.s3.bucket import Bucket
from cairn.storage.blobs.s3.staging import Span, discard_quietly, stage

__all__ = ["Piece", "SessionPieces", "contiguous"]

_OFFSET = re.compile(r"[0-9]{20}")


@dataclass(frozen=True, slots=True)
class Piece:
    offset: int
    size: int
    key: str


class SessionPieces:
    def __init__(self, bucket: Bucket, part_size: int) -> None:
        self.bucket, self._part_size = bucket, part_size

    def pieces(self, session: str) -> list[Piece]:
        """The session's pieces in offset order (an unknown session has none)."""
        prefix = f"sessions/{check_session_id(session)}/"
        return [
            Piece(int(name), item.size, item.key)
            for item in self.bucket.listing(prefix)
            if _OFFSET.fullmatch(name := item.key.removeprefix(prefix))
        ]

    def write(self, session: str, offset: int, chunks: Iterable[bytes]) -> int:
        pieces = self.pieces(session)
        _, held = contiguous(pieces)
        if not 0 <= offset <= held:
            raise UploadOffsetMismatch(
                f"upload {session} holds {held} bytes, not {offset}", offset=offset, size=held
            )
        key = f"sessions/{session}/{offset:020d}"
        if offset < held:
            self.bucket.put(key, b"")  # the cut
        for piece in reversed(pieces):
            if piece.offset > offset:
                self.bucket.delete(piece.key)
        written = stage(self.bucket, key, chunks, self._part_size)
        try:
            written.commit()
        except BaseException:
            discard_quietly(written)
            raise
        return offset + written.size

    def drop(self, pieces: list[Piece]) -> None:
        for piece in pieces:
            self.bucket.delete(piece.key)


def contiguous(pieces: list[Piece]) -> tuple[list[Span], int]:
    """The session's bytes as spans of its pieces (empty ones left out), and their count."""
    kept: list[Piece] = []
    for piece in pieces:
        if piece.offset > (kept[-1].offset + kept[-1].size if kept else 0):
            break  # a gap: the session ends before it
        kept.append(piece)
    ends = [p.offset for p in kept[1:]] + [kept[-1].offset + kept[-1].size] if kept else []
    spans = [Span(p.key, 0, end - p.offset) for p, end in zip(kept, ends, strict=True)]
    return [s for s in spans if s.length > 0], ends[-1] if ends else 0
