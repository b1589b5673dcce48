"""The values and references the pickle walker (``pickle_ops``) deals in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cairn.domain.scanning.byte_reader import PickleLimitExceeded

TEXT_MAX = 4096  # longest string kept, and longest argument line read whole


class Slot(Enum):
    MARK = "mark"
    OPAQUE = "opaque"
    BUILT = "built"  # what calling an imported global (or something so built) returned


@dataclass(frozen=True, slots=True)
class GlobalValue:
    """What ``GLOBAL`` / ``STACK_GLOBAL`` pushed: the imported ``module.name``."""

    module: str
    name: str


@dataclass(frozen=True, slots=True)
class TupleValue:
    """A tuple the pickle built, of at most ``TUPLE_MAX`` items, nested at most twice."""

    items: tuple[Value, ...]


Value = str | int | Slot | GlobalValue | TupleValue
TUPLE_MAX = 4096
TUPLE_ITEMS_MAX = 1_000_000  # tuple items followed in one pickle; past that, tuples are opaque
# cloudpickle's ``_builtin_type(name)`` returns ``getattr(types, name)``: an import by name.
CLOUDPICKLE_MODULES = frozenset(
    {"cloudpickle", "cloudpickle.cloudpickle", "cloudpickle.cloudpickle_fast"}
)
MUTATORS = frozenset({"BUILD", "SETITEM", "SETITEMS", "APPEND", "APPENDS", "ADDITEMS"})


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


@dataclass(frozen=True, slots=True)
class CallRef:
    """A call the unpickler would make (``action`` "call": ``callee(*args)``), or a change it
    would make to ``callee`` (``action`` "mutate", when that is an imported global)."""

    action: str
    callee: Value
    args: Value
    offset: int
    opcode: str


Reference = GlobalRef | ExtensionRef | CallRef


class Memo:
    """The unpickler's memo, keeping only the values a later opcode could name a global with.

    ``MEMOIZE`` stores at ``len(memo)``, so the number of distinct keys is tracked exactly: as
    a plain count while the keys are 0..n-1 (as every real pickler writes them), with a set
    of the keys beyond that range only for a pickle that skips keys.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[int, Value] = {}
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
