"""The one reader of ``Range: bytes=…`` (RFC 9110 §14), and what each surface answers.

``parse_range`` reads one byte range: ``first-last`` (inclusive), ``first-`` (to the end) or
``-n`` (the last ``n`` bytes). The unit is ``bytes``, in any case; nothing else is read: a
list of ranges, another unit, a number that is not plain ASCII digits (or longer than 19 of
them), a range whose last byte comes before its first are all "not a range Cairn reads".

The two blob downloads answer that reading differently, on purpose:

=============================  ===================================  ===========================
the ``Range`` header           ``/api/v1/namespaces/{ns}/blobs/{d}``  ``/v2/{name}/blobs/{d}``
=============================  ===================================  ===========================
absent                         200, the whole blob                  200, the whole blob
``bytes=a-b``, ``bytes=a-``    206, the end clamped to the blob's   the same
``bytes=-n`` (a suffix)        416 ``invalid_range``                206, the last n bytes
starts at or past the end      416 ``invalid_range``                416 ``RANGE_INVALID`` with
(so any range of an empty                                           ``Content-Range: bytes */N``
blob)
several ranges, another unit,  416 ``invalid_range``                200, the whole blob
malformed, last before first
=============================  ===================================  ===========================

Why they differ: the native API has one client, Cairn's SDK, which only ever asks
``bytes=<have>-`` to resume a download; any other header is a bug worth a loud refusal. Under
``/v2/`` the clients are other people's (oras, skopeo, containerd, the conformance suite), and
RFC 9110 lets a server ignore a ``Range`` it does not read and send the whole representation,
which every client handles; suffix ranges are part of what they may ask. Neither serves
several ranges in one answer (``multipart/byteranges``): no client of either asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cairn.errors import InvalidRange, SizeMismatch, UploadOffsetMismatch

_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})", re.IGNORECASE)
_UPLOAD_RANGE = re.compile(r"(?:bytes )?([0-9]{1,19})-([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """One range read from a header: ``first`` (None for a suffix range) through ``last``
    (inclusive; None: to the end), or, for a suffix range, the last ``last`` bytes."""

    first: int | None
    last: int | None

    def span(self, size: int) -> tuple[int, int]:
        """``[start, end)`` of this range in a blob of ``size`` bytes, the end clamped to the
        blob's; ``InvalidRange`` (416) when no byte of the blob is in it."""
        if self.first is None:
            start, end = max(size - (self.last or 0), 0), size
        else:
            start = self.first
            end = size if self.last is None else min(self.last + 1, size)
        if start >= end:
            raise InvalidRange(f"the blob has {size} bytes; the range starts past them", size=size)
        return start, end


def parse_range(header: str) -> ByteRange | None:
    """The one byte range ``header`` asks for; None when it is not one range Cairn reads."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    found = ByteRange(int(first) if first else None, int(last) if last else None)
    if found.first is not None and found.last is not None and found.last < found.first:
        return None
    return found


def native_range(header: str | None) -> tuple[int, int | None]:
    """``[start, end)`` asked of a native blob download (``end`` None: to the blob's end;
    the service clamps it and refuses a start past the end): ``bytes=a-[b]`` or nothing."""
    if header is None:
        return 0, None
    found = parse_range(header)
    if found is None or found.first is None:
        raise InvalidRange(
            "Range is one 'bytes=START-[END]', with END not before START", range=header[:100]
        )
    return found.first, None if found.last is None else found.last + 1


def content_range(start: int, end: int, size: int) -> str:
    """The ``Content-Range`` of a 206 sending ``[start, end)`` of ``size`` bytes. An empty
    part is no answer to a range (a zero-byte blob has no byte to send): ``InvalidRange``."""
    if start >= end:
        raise InvalidRange(f"the blob has {size} bytes; the range starts past them", size=size)
    return f"bytes {start}-{end - 1}/{size}"


def oci_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` asked of an OCI blob download of ``size`` bytes; None to send the
    whole blob (no header, or one that is not a range Cairn reads)."""
    found = None if header is None else parse_range(header)
    return None if found is None else found.span(size)


def upload_chunk(header: str | None, offset: int, length: int | None) -> tuple[int, int | None]:
    """Where an OCI upload's ``PATCH`` puts its body, and how long it is: at ``Content-Range:
    <start>-<end>`` (inclusive; docker's ``bytes `` prefix read too), which must start where
    the upload stands (``offset``) and agree with ``Content-Length``; without the header, at
    the end, as long as the body."""
    if header is None:
        return offset, length
    match = _UPLOAD_RANGE.fullmatch(header.strip())
    if match is None or int(match.group(2)) < int(match.group(1)):
        raise InvalidRange("Content-Range is '<start>-<end>', inclusive", range=header[:100])
    start, end = int(match.group(1)), int(match.group(2))
    if start != offset:
        raise UploadOffsetMismatch(
            f"this upload holds {offset} bytes; the next chunk starts there", offset=offset
        )
    if length is not None and length != end - start + 1:
        raise SizeMismatch(f"Content-Range {start}-{end} and Content-Length {length} differ")
    return start, end - start + 1
