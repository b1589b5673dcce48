"""Checking a safetensors header against the format, reading the header only.

The layout, from the format's specification::

    bytes 0..8          N, the header length, unsigned 64-bit little-endian
    bytes 8..8+N        the header: UTF-8 JSON object, starting with '{', maybe padded with
                        spaces; "__metadata__" (optional) maps str to str, every other key
                        is a tensor: {"dtype", "shape": [uint...], "data_offsets": [begin, end]}
    bytes 8+N..         the tensor data; offsets are relative to here

Offsets must tile the data exactly: sorted by offset, the first tensor begins at 0, each one
begins where the previous one ended, and the last ends at the end of the file. A tensor's
byte length is the product of its shape times its dtype's width in bits, divided by 8 (which
must be whole). The reference reader refuses headers over 100,000,000 bytes.

A safetensors file cannot run code, so nothing here is critical. Offsets that overlap or
point outside the file, and header lengths past the file or the format's limit, are high:
they aim at readers' memory handling. Everything else malformed is medium.
"""

from __future__ import annotations

import io
import json
import math
from typing import IO, Any, TypeGuard

from cairn.domain.scanning.results import FindingKind, FindingLog, Severity

HEADER_LIMIT = 100_000_000
DTYPE_BITS = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

_Span = tuple[int, int, str]


class _Report:
    def __init__(self, log: FindingLog, where: str) -> None:
        self._log = log
        self._where = where

    def __call__(self, severity: Severity, message: str) -> None:
        self._log.add(self._where, FindingKind.SAFETENSORS_HEADER, severity, message)


def scan_safetensors(
    stream: IO[bytes], where: str, log: FindingLog, header_limit: int = HEADER_LIMIT
) -> None:
    report = _Report(log, where)
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    prefix = stream.read(8)
    if len(prefix) < 8:
        report(Severity.WARNING, f"the file has {size} bytes, fewer than the 8-byte header length")
        return
    length = int.from_bytes(prefix, "little")
    if length > header_limit:
        report(Severity.BLOCKING, f"the header length {length} exceeds the limit of {header_limit}")
        return
    if 8 + length > size:
        report(Severity.BLOCKING, f"the header length {length} runs past the end of the file")
        return
    header = _parse_header(stream.read(length), report)
    if header is not None:
        _check_metadata(header.pop("__metadata__", None), report)
        _check_layout(header, size - 8 - length, report)


def _parse_header(raw: bytes, report: _Report) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        report(Severity.WARNING, "the header is not UTF-8")
        return None
    if not text.startswith("{"):
        report(Severity.WARNING, "the header does not start with '{'")
    try:
        header = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        report(Severity.WARNING, f"the header is not valid JSON: {exc}"[:300])
        return None
    if not isinstance(header, dict):
        report(Severity.WARNING, "the header is not a JSON object")
        return None
    return header


def _check_metadata(metadata: object, report: _Report) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        report(Severity.WARNING, "__metadata__ must map strings to strings")


def _check_layout(header: dict[str, Any], data_size: int, report: _Report) -> None:
    spans = sorted(
        span for name, info in header.items() if (span := _tensor_span(name, info, report))
    )
    expected = 0
    for begin, end, name in spans:
        if end > data_size:
            report(Severity.BLOCKING, f"tensor {name} lies past the end of the file")
        if begin < expected:
            report(Severity.BLOCKING, f"tensor {name} overlaps the tensor before it")
        elif begin > expected:
            report(Severity.WARNING, f"{begin - expected} bytes before tensor {name} are unused")
        expected = max(expected, end)
    if expected < data_size:
        report(Severity.WARNING, f"{data_size - expected} bytes after the last tensor are unused")


def _tensor_span(name: str, info: object, report: _Report) -> _Span | None:
    shown = repr(name)[:100]
    if not isinstance(info, dict):
        report(Severity.WARNING, f"the entry for tensor {shown} is not an object")
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    bits = DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
    if bits is None:
        report(Severity.WARNING, f"tensor {shown} has an unknown dtype {dtype!r:.50}")
    if not _is_shape(shape):
        report(Severity.WARNING, f"the shape of tensor {shown} is not a list of counts")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(_is_count(o) for o in offsets)
        and offsets[0] <= offsets[1]
    ):
        report(Severity.BLOCKING, f"the data_offsets of tensor {shown} are not [begin, end]")
        return None
    begin, end = offsets
    if bits is not None and _is_shape(shape):
        nbits = math.prod(shape) * bits
        if nbits % 8:
            report(Severity.WARNING, f"tensor {shown} does not fill a whole number of bytes")
        elif nbits // 8 != end - begin:
            report(
                Severity.WARNING,
                f"tensor {shown} needs {nbits // 8} bytes for {dtype} {shape}"
                f" but its data_offsets span {end - begin}",
            )
    return begin, end, shown


def _is_shape(value: object) -> TypeGuard[list[int]]:
    return isinstance(value, list) and all(_is_count(d) for d in value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Readers disagree on which of two equal keys wins, so a duplicate is never harmless.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r:.100}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
