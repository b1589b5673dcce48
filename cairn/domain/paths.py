"""The one path rule, applied segment by segment wherever a client names a file: a version's
manifest, an OCI layer's title, an MLflow artifact, an archive member as the scanner sees it.

A path is refused, never rewritten, when it could land somewhere else than it says, look like
another name, or fail to exist on a common file system (a folder is pulled on Linux, macOS and
Windows alike). A path is at most ``PATH_MAX`` (1024) bytes of UTF-8, relative, made of at most
``DEPTH_MAX`` (64) segments joined by ``/``. Each segment:

* is not empty (so no leading, trailing or doubled ``/``), and not ``.`` or ``..``;
* is at most ``SEGMENT_MAX`` (255) bytes, the name limit of ext4, APFS and NTFS;
* holds no backslash (Windows' separator) and no ``:`` (a drive letter such as ``C:``, or an
  NTFS alternate data stream such as ``model.bin:hidden``), nor the other characters Windows
  refuses in a name: ``< > " | ? *``;
* holds no control character (C0, DEL, C1), no lone surrogate, no line or paragraph separator
  and no Unicode format character (category Cf: the bidirectional overrides and isolates
  U+202A to U+202E and U+2066 to U+2069, zero-width characters, the byte order mark), which
  make a name display as another (``model<U+202E>nib.exe`` shows as ``modelexe.bin``);
* is not a Windows device name — ``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM1`` to ``COM9``,
  ``LPT1`` to ``LPT9`` (and their superscript-digit forms), ``CONIN$``, ``CONOUT$`` — in any case,
  with or without an extension (``nul.txt``, ``con.tar.gz``): Windows opens the device instead;
* does not end in ``.`` or a space, which Windows drops (``a.`` and ``a`` would be one file).

A path is also checked as it reads once percent-decoded (up to four times over): a tool that
decodes it must not find a climb, a separator or a NUL either. The spelling sent is kept.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

from cairn.errors import UnsafePath

PATH_MAX = 1024
SEGMENT_MAX = 255
DEPTH_MAX = 64
_WINDOWS_FORBIDDEN = frozenset('\\:<>"|?*')
# Control, format, surrogate, line and paragraph separator categories.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"}
)


def check_path(raw: object) -> str:
    """Return ``raw`` if it passes the path rule; raise ``UnsafePath`` saying why otherwise."""
    if not isinstance(raw, str) or not raw:
        raise UnsafePath("a file path must be a non-empty string")
    shown = raw[:200]
    _check_spelling(raw, shown, "")
    decoded = raw
    for _ in range(4):  # percent-encoding applied up to four times over is still caught
        previous, decoded = decoded, unquote(decoded)
        if decoded == previous:
            break
        _check_spelling(decoded, shown, " (once percent-decoded)")
    return raw


def is_device_name(name: str) -> bool:
    """Whether Windows takes ``name`` for a device (``con``, ``NUL.txt``, ``com1.tar.gz``)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _DEVICES


def segment_problem(segment: str) -> str | None:
    """Why ``segment`` cannot be one name of a path, or None if it can."""
    if not segment:
        return "a file path has no empty or '.' segments and no trailing '/'"
    if segment == "..":
        return "a file path may not contain a '..' segment"
    if segment == ".":
        return "a file path has no empty or '.' segments and no trailing '/'"
    if len(segment.encode("utf-8", "surrogatepass")) > SEGMENT_MAX:
        return f"a path segment is at most {SEGMENT_MAX} bytes"
    for char in segment:
        if char == "\\":
            return "a file path may not contain a backslash"
        if char == ":":
            return "a file path may not contain ':' (a drive letter, or an NTFS stream)"
        if char in _WINDOWS_FORBIDDEN:
            return f"a file path may not contain {char!r}, which Windows refuses in a name"
        if unicodedata.category(char) in _INVISIBLE:
            return (
                "a file path may not hold NUL or control characters, nor invisible or "
                f"direction-changing ones (U+{ord(char):04X})"
            )
    if is_device_name(segment):
        return f"a file path may not use the Windows device name {segment.split('.')[0]!r}"
    if segment[-1] in ". ":
        return "a path segment may not end in '.' or a space (Windows drops them)"
    return None


def _check_spelling(path: str, shown: str, how: str) -> None:
    if len(path.encode("utf-8", "surrogatepass")) > PATH_MAX:
        raise UnsafePath(f"a file path is at most {PATH_MAX} bytes{how}", path=shown)
    if path.startswith("/"):
        raise UnsafePath(f"a file path must be relative{how}", path=shown)
    segments = path.split("/")
    if len(segments) > DEPTH_MAX:
        raise UnsafePath(f"a file path has at most {DEPTH_MAX} segments{how}", path=shown)
    for segment in segments:
        problem = segment_problem(segment)
        if problem is not None:
            raise UnsafePath(problem + how, path=shown)
