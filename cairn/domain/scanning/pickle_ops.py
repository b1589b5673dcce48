"""Reading a pickle's opcodes without running them, in bounded memory.

Nothing here unpickles. The opcode table comes from :mod:`pickletools`, which only describes
opcodes, and the unpickler's stack and memo are mirrored abstractly: a value is either a short
string or small int (what a later ``STACK_GLOBAL`` or a PyTorch magic number could be made
of) or an opaque token.

The walk is deliberately *more lenient* than the real unpickler. It halts only where the
unpickler would have halted too (an unknown opcode byte, a negative length, the end of the
data) and takes an underflowing stack, a missing memo key or an undecodable argument as an
opaque value. So every import the unpickler would perform before failing is seen here.

Memory does not grow with the pickle: byte payloads are skipped in chunks, only strings of up
to ``TEXT_MAX`` bytes are kept, and the stack and memo have limits whose breach is reported as
:class:`PickleLimitExceeded` (a scanner error, never a pass).
"""

from __future__ import annotations

import io
import pickletools
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import IO, Any

TEXT_MAX = 4096  # longest string kept, and longest argument line read whole
_CHUNK = 1 << 16


class Slot(Enum):
    MARK = "mark"
    OPAQUE = "opaque"


Value = str | int | Slot


@dataclass(frozen=True, slots=True)
class GlobalRef:
    """A global the unpickler would import. ``None`` parts were computed, not written."""

    module: str | None
    name: str | None
    offset: int
    opcode: str
    protocol: int


@dataclass(frozen=True, slots=True)
class ExtensionRef:
    """An ``EXT*`` opcode: a global looked up in the loader's copyreg extension registry."""

    code: int
    offset: int


Reference = GlobalRef | ExtensionRef


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


class _Memo:
    """The unpickler's memo, keeping only the values a later opcode could name a global with.

    ``MEMOIZE`` stores at ``len(memo)``, so the number of distinct keys is tracked exactly: as
    a plain count while the keys are 0..n-1 (as every real pickler writes them), with a set
    of the keys beyond that range only for a pickle that skips keys.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[int, str | int] = {}
        self._contiguous = 0
        self._beyond: set[int] = set()

    def __len__(self) -> int:
        return self._contiguous + len(self._beyond)

    def put(self, key: int, value: Value) -> None:
        if key < 0:
            return  # the unpickler refuses this and stops; the walk goes on regardless
        if key == self._contiguous and not self._beyond:
            self._contiguous += 1  # the common case: keys written in order
        elif key >= self._contiguous:
            self._beyond.add(key)
            while self._contiguous in self._beyond:
                self._beyond.remove(self._contiguous)
                self._contiguous += 1
        if isinstance(value, Slot):
            self._values.pop(key, None)
        else:
            self._values[key] = value
        if len(self._values) > self._limit or len(self._beyond) > self._limit:
            raise PickleLimitExceeded(f"the pickle memoizes more than {self._limit} values")

    def get(self, key: int) -> Value:
        return self._values.get(key, Slot.OPAQUE)


class _Act(Enum):
    """What an opcode does to the mirrored stack and memo."""

    TEXT = "text"
    INT = "int"
    GLOBAL = "global"
    STACK_GLOBAL = "stack_global"
    EXT = "ext"
    PUT = "put"
    MEMOIZE = "memoize"
    GET = "get"
    DUP = "dup"
    POP = "pop"
    PROTO = "proto"
    STOP = "stop"
    OTHER = "other"  # the documented stack effect, every pushed value opaque


@dataclass(frozen=True, slots=True)
class _Spec:
    """One opcode, digested from pickletools' table into what the walk needs."""

    name: str
    act: _Act
    fixed: int = 0  # a fixed-size argument of this many bytes
    fixed_format: str | None = None  # its struct format, when the walk needs its value
    prefix: tuple[int, bool] | None = None  # (width, signed) of a length prefix
    decode: str | None = None  # how to keep a prefixed payload: an encoding or "int"
    line: bool = False  # an argument up to a newline
    line_reader: Callable[[IO[bytes]], Any] | None = None  # its reader, when needed
    pair: bool = False  # two lines: a module and a name
    to_mark: bool = False
    pops: int = 0
    pushes: tuple[Value, ...] = ()


_ACTS = {
    **dict.fromkeys(("STRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE"), _Act.TEXT),
    **dict.fromkeys(("BINUNICODE8", "BINSTRING", "SHORT_BINSTRING"), _Act.TEXT),
    **dict.fromkeys(("GLOBAL", "INST"), _Act.GLOBAL),
    **dict.fromkeys(("EXT1", "EXT2", "EXT4"), _Act.EXT),
    **dict.fromkeys(("PUT", "BINPUT", "LONG_BINPUT"), _Act.PUT),
    **dict.fromkeys(("GET", "BINGET", "LONG_BINGET"), _Act.GET),
    "LONG1": _Act.INT,
    "STACK_GLOBAL": _Act.STACK_GLOBAL,
    "MEMOIZE": _Act.MEMOIZE,
    "DUP": _Act.DUP,
    "POP": _Act.POP,
    "PROTO": _Act.PROTO,
    "STOP": _Act.STOP,
}
_FIXED_FORMATS = {1: "<B", 2: "<H", 4: "<i"}
_UNSIGNED_4 = frozenset({"LONG_BINPUT", "LONG_BINGET"})
_LENGTH_PREFIX = {
    pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
    pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
    pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
    pickletools.TAKEN_FROM_ARGUMENT8U: (8, False),
}


def _spec(info: pickletools.OpcodeInfo) -> _Spec:
    act = _ACTS.get(info.name, _Act.OTHER)
    desc = info.arg
    before = info.stack_before
    mark = pickletools.markobject in before
    fields: dict[str, Any] = {
        "to_mark": mark,
        "pops": before.index(pickletools.markobject) if mark else len(before),
        "pushes": tuple(
            Slot.MARK if item is pickletools.markobject else Slot.OPAQUE
            for item in info.stack_after
        ),
    }
    valued = act not in (_Act.OTHER, _Act.GLOBAL)
    if desc is None:
        pass
    elif desc.n > 0:
        fields["fixed"] = desc.n
        if valued:
            fmt = "<I" if info.name in _UNSIGNED_4 else _FIXED_FORMATS[desc.n]
            fields["fixed_format"] = fmt
    elif desc.n == pickletools.UP_TO_NEWLINE:
        fields["pair"] = desc is pickletools.stringnl_noescape_pair
        fields["line"] = not fields["pair"]
        fields["line_reader"] = desc.reader if valued else None
    else:
        fields["prefix"] = _LENGTH_PREFIX[desc.n]
        if act is _Act.INT:
            fields["decode"] = "int"
        elif act is _Act.TEXT:
            fields["decode"] = "latin-1" if "BINSTRING" in info.name else "utf-8"
    return _Spec(info.name, act, **fields)


_SPECS = {ord(info.code): _spec(info) for info in pickletools.opcodes}


class PickleWalker:
    """Walks one pickle, from where the reader stands to its ``STOP``."""

    def __init__(self, reader: ByteReader, *, stack_limit: int, memo_limit: int) -> None:
        self._reader = reader
        self._stack: list[Value] = []
        self._stack_limit = stack_limit
        self._memo = _Memo(memo_limit)
        self.protocol = 0
        self.imports = 0  # references yielded so far
        self.result: Value | None = None  # what STOP returned, once reached

    def references(self) -> Iterator[Reference]:
        """Yield every global the pickle would import, in order; raise where it breaks."""
        reader, stack = self._reader, self._stack
        while True:
            offset = reader.offset
            code = reader.read_byte()
            if code < 0:
                raise PickleSyntaxError("the data ends before the pickle's STOP", offset)
            spec = _SPECS.get(code)
            if spec is None:
                raise PickleSyntaxError(f"invalid opcode byte 0x{code:02x}", offset)
            arg = self._argument(spec)
            if spec.act is _Act.OTHER:
                self._apply_effect(spec)
                continue
            if spec.act is _Act.STOP:
                self.result = self._pop()
                return
            ref = self._apply(spec, arg, offset)
            if len(stack) > self._stack_limit:
                raise PickleLimitExceeded(f"the pickle stack grows past {self._stack_limit}")
            if ref is not None:
                self.imports += 1
                yield ref

    def _argument(self, spec: _Spec) -> object:
        reader = self._reader
        if spec.fixed:
            if spec.fixed_format is None:
                reader.skip(spec.fixed)
                return None
            return struct.unpack(spec.fixed_format, reader.read(spec.fixed))[0]
        if spec.prefix is not None:
            width, signed = spec.prefix
            at = reader.offset
            length = int.from_bytes(reader.read(width), "little", signed=signed)
            if length < 0:
                raise PickleSyntaxError(f"{spec.name} has a negative length", at)
            if spec.decode is None or length > TEXT_MAX:
                reader.skip(length)
                return None
            payload = reader.read(length)
            if spec.decode == "int":
                return int.from_bytes(payload, "little", signed=True)
            try:
                return payload.decode(spec.decode)
            except UnicodeDecodeError:
                return None
        if spec.line:
            line = reader.read_line(TEXT_MAX)
            if line is None or spec.line_reader is None:
                return None
            try:
                return spec.line_reader(io.BytesIO(line))
            except ValueError:
                return None
        if spec.pair:
            return (self._global_part(), self._global_part())
        return None

    def _global_part(self) -> str | None:
        # The unpickler decodes these lines as UTF-8 and nothing else (no escapes); a line
        # that fails to decode still names the global here, garbled, so it is judged unknown.
        line = self._reader.read_line(TEXT_MAX)
        return None if line is None else line[:-1].decode("utf-8", "replace")

    def _apply(self, spec: _Spec, arg: object, offset: int) -> Reference | None:
        act, stack = spec.act, self._stack
        if act is _Act.TEXT or act is _Act.INT:
            stack.append(arg if isinstance(arg, str | int) else Slot.OPAQUE)
        elif act is _Act.PUT or act is _Act.MEMOIZE:
            key = len(self._memo) if act is _Act.MEMOIZE else arg
            if isinstance(key, int):
                self._memo.put(key, stack[-1] if stack else Slot.OPAQUE)
        elif act is _Act.GET:
            stack.append(self._memo.get(arg) if isinstance(arg, int) else Slot.OPAQUE)
        elif act is _Act.GLOBAL:
            module, attr = arg if isinstance(arg, tuple) else (None, None)
            self._apply_effect(spec)
            return GlobalRef(module, attr, offset, spec.name, self.protocol)
        elif act is _Act.STACK_GLOBAL:
            attr, module = self._pop(), self._pop()
            stack.append(Slot.OPAQUE)
            return GlobalRef(_text(module), _text(attr), offset, spec.name, self.protocol)
        elif act is _Act.EXT:
            stack.append(Slot.OPAQUE)
            return ExtensionRef(arg if isinstance(arg, int) else -1, offset)
        elif act is _Act.DUP:
            stack.append(stack[-1] if stack else Slot.OPAQUE)
        elif act is _Act.POP:
            self._pop()
        elif act is _Act.PROTO and isinstance(arg, int):
            self.protocol = arg
        return None

    def _apply_effect(self, spec: _Spec) -> None:
        stack = self._stack
        if spec.to_mark:
            while stack and stack.pop() is not Slot.MARK:
                pass
        for _ in range(spec.pops):
            self._pop()
        stack.extend(spec.pushes)
        if len(stack) > self._stack_limit:
            raise PickleLimitExceeded(f"the pickle stack grows past {self._stack_limit}")

    def _pop(self) -> Value:
        return self._stack.pop() if self._stack else Slot.OPAQUE


def _text(value: Value) -> str | None:
    return value if isinstance(value, str) else None
