"""Reading a pickle's opcodes without running them, in bounded memory.

Nothing here unpickles. The opcode table comes from :mod:`pickletools`, which only describes
opcodes, and the unpickler's stack and memo are mirrored abstractly: a value is a short
string or small int (what a later ``STACK_GLOBAL`` or a PyTorch magic number could be made
of), a global the pickle imported, a short tuple of those (the arguments of a call), or an
opaque token.

Besides every import, the walk reports every call the unpickler would make (``REDUCE`` and
``OBJ``, with what is called and, when it is a short tuple, its arguments) and every change
the pickle would make to an imported global (``BUILD``, ``SETITEM(S)``, ``APPEND(S)``,
``ADDITEMS`` on it): :mod:`cairn.domain.scanning.pickle_rules` judges them.

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

from cairn.domain.scanning.byte_reader import ByteReader, PickleLimitExceeded, PickleSyntaxError
from cairn.domain.scanning.pickle_values import (
    CLOUDPICKLE_MODULES,
    MUTATORS,
    TEXT_MAX,
    TUPLE_ITEMS_MAX,
    TUPLE_MAX,
    CallRef,
    ExtensionRef,
    GlobalRef,
    GlobalValue,
    Memo,
    Reference,
    Slot,
    TupleValue,
    Value,
)


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
    TUPLE = "tuple"
    REDUCE = "reduce"
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
    **dict.fromkeys(("EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"), _Act.TUPLE),
    "REDUCE": _Act.REDUCE,
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
        self._memo = Memo(memo_limit)
        self.protocol = 0
        self._tuple_items = 0
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
                effect, result = self._effect_of(spec, offset)
                self._apply_effect(spec)
                if result is not None:
                    stack[-1] = result
                if effect is not None:
                    yield effect
                continue
            if spec.act is _Act.STOP:
                self.result = self._pop()
                return
            ref = self._apply(spec, arg, offset)
            if len(stack) > self._stack_limit:
                raise PickleLimitExceeded(f"the pickle stack grows past {self._stack_limit}")
            if ref is not None:
                self.imports += not isinstance(ref, CallRef)
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
            if spec.name == "INST":
                stack[-1] = Slot.BUILT  # an instance of the class INST names
            elif module is not None and attr is not None:
                stack[-1] = GlobalValue(module, attr)
            return GlobalRef(module, attr, offset, spec.name, self.protocol)
        elif act is _Act.STACK_GLOBAL:
            attr, module = _text(self._pop()), _text(self._pop())
            pushed = GlobalValue(module, attr) if module is not None and attr is not None else None
            stack.append(pushed or Slot.OPAQUE)
            return GlobalRef(module, attr, offset, spec.name, self.protocol)
        elif act is _Act.TUPLE:
            items = self._pop_to_mark() if spec.to_mark else [self._pop() for _ in range(spec.pops)]
            stack.append(self._tuple(items[::-1] if not spec.to_mark else items))
        elif act is _Act.REDUCE:
            args, callee = self._pop(), self._pop()
            return self._call(callee, args, offset)
        elif act is _Act.EXT:
            code = arg if isinstance(arg, int) else -1
            stack.append(GlobalValue("copyreg extension", str(code)))  # a global, judged so
            return ExtensionRef(code, offset)
        elif act is _Act.DUP:
            stack.append(stack[-1] if stack else Slot.OPAQUE)
        elif act is _Act.POP:
            self._pop()
        elif act is _Act.PROTO and isinstance(arg, int):
            self.protocol = arg
        return None

    def _call(self, callee: Value, args: Value, offset: int) -> Reference | None:
        """REDUCE: what it calls, or the global cloudpickle's ``_builtin_type`` returns. Only an
        imported global, or what calling one built, can be called: anything else (a string,
        a number, a list) makes the unpickler fail, so nothing is built and nothing reported."""
        if (
            isinstance(callee, GlobalValue)
            and callee.module in CLOUDPICKLE_MODULES
            and callee.name == "_builtin_type"
        ):
            first = args.items[0] if isinstance(args, TupleValue) and args.items else None
            name = first if isinstance(first, str) else None
            self._stack.append(GlobalValue("types", name) if name else Slot.OPAQUE)
            return GlobalRef("types", name, offset, "REDUCE", max(self.protocol, 3))
        if not _callable(callee):
            self._stack.append(Slot.OPAQUE)
            return None
        self._stack.append(Slot.BUILT)
        return CallRef("call", callee, args, offset, "REDUCE")

    def _effect_of(self, spec: _Spec, offset: int) -> tuple[CallRef | None, Value | None]:
        """Before the stack effect of an opcode without its own handling: the call OBJ makes,
        or a change to an imported global; and what the opcode leaves on the stack, where that
        is not opaque (an object built by calling a class; the target of a change)."""
        stack = self._stack
        if spec.name in ("OBJ", "NEWOBJ", "NEWOBJ_EX"):
            if spec.name == "OBJ":
                at = _last_mark(stack)
                callee = stack[at + 1] if at is not None and at + 1 < len(stack) else Slot.OPAQUE
            else:
                callee = stack[-spec.pops] if len(stack) >= spec.pops else Slot.OPAQUE
            if not _callable(callee):
                return None, None
            # NEWOBJ builds an instance of a class (cloudpickle's by-value classes too); OBJ
            # calls what it is given, as REDUCE does.
            call = CallRef("call", callee, Slot.OPAQUE, offset, spec.name)
            return (call if spec.name == "OBJ" else None), Slot.BUILT
        if spec.name in MUTATORS:
            if spec.to_mark:
                at = _last_mark(stack)
                target = stack[at - 1] if at else Slot.OPAQUE
            else:
                target = stack[-spec.pops] if len(stack) >= spec.pops else Slot.OPAQUE
            change = CallRef("mutate", target, Slot.OPAQUE, offset, spec.name)
            return (change if isinstance(target, GlobalValue) else None), target
        return None, None

    def _tuple(self, items: list[Value]) -> Value:
        if len(items) > TUPLE_MAX or self._tuple_items + len(items) > TUPLE_ITEMS_MAX:
            return Slot.OPAQUE
        self._tuple_items += len(items)
        # Two levels are kept (a call's arguments holding a tuple of names); deeper is opaque.
        flat = [
            Slot.OPAQUE
            if isinstance(i, TupleValue) and any(isinstance(j, TupleValue) for j in i.items)
            else i
            for i in items
        ]
        return TupleValue(tuple(flat))

    def _pop_to_mark(self) -> list[Value]:
        stack = self._stack
        at = _last_mark(stack)
        if at is None:
            items, stack[:] = list(stack), []
        else:
            items, stack[at:] = stack[at + 1 :], []
        return items

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


def _callable(value: Value) -> bool:
    return isinstance(value, GlobalValue) or value is Slot.BUILT


def _last_mark(stack: list[Value]) -> int | None:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is Slot.MARK:
            return i
    return None
