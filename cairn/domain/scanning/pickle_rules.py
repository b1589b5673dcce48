"""Which globals a pickle may import: known safe, known dangerous, and everything else.

A global is judged, in this order:

0. **warning** (``code_by_value``) when it is how cloudpickle ships code by value
   (``types.CodeType``, cloudpickle's ``_make_function``, …): see
   :mod:`cairn.domain.scanning.pickle_calls`, which also judges the calls a pickle makes
   while loading and keeps code by value from hiding a dangerous one.
1. **blocking** when Cairn's list below or picklescan (a maintained blocklist, updated as
   new gadgets are reported) calls it dangerous, under the spelling in the file or the one
   the unpickler translates Python 2 names to (``__builtin__`` → ``builtins``, ``commands`` →
   ``subprocess``); when a dotted name walks through a dunder or a dangerous module
   (``torch`` + ``os.system``); or when its module or name is computed while loading instead
   of written in the file.
2. **clean** when it is on an allow list: Cairn's below, the globals the caller trusts, or
   picklescan's innocuous list.
3. otherwise a **warning**, an *unknown* global: the unpickler would import it and may call it,
   and nobody has vouched for it. Unknown is flagged rather than passed because a blocklist
   only knows yesterday's gadgets; a namespace that trusts, say, scikit-learn's estimators
   lists them in ``ScanOptions.trusted_globals``.

The lists are facts about what these functions do, not guesses: the dangerous ones run code
or commands, import modules, reach arbitrary attributes, open files or unpickle again.
"""

from __future__ import annotations

import _compat_pickle
import io
import struct

from picklescan import scanner as picklescan

from cairn.domain.scanning.pickle_calls import Verdict, code_by_value, is_code_by_value, judge_call
from cairn.domain.scanning.pickle_values import CallRef, ExtensionRef, GlobalRef, Reference
from cairn.domain.scanning.results import FindingKind, Severity

ANY = frozenset({"*"})

DANGEROUS: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr"}
        | {"globals", "locals", "vars", "open", "input", "breakpoint", "help", "exit", "quit"}
    ),
    "os": ANY,
    "posix": ANY,
    "nt": ANY,
    "subprocess": ANY,
    "_posixsubprocess": ANY,
    "pty": ANY,
    "sys": ANY,
    "runpy": ANY,
    "importlib": ANY,
    "pkgutil": ANY,
    "code": ANY,
    "codeop": ANY,
    "pickle": ANY,
    "_pickle": ANY,
    "marshal": ANY,
    "shutil": ANY,
    "socket": ANY,
    "ctypes": ANY,
    "_ctypes": ANY,
    "multiprocessing": ANY,
    "asyncio": ANY,
    "signal": ANY,
    "webbrowser": ANY,
    "pdb": ANY,
    "bdb": ANY,
    "timeit": ANY,
    "profile": ANY,
    "cProfile": ANY,
    "trace": ANY,
    "pydoc": ANY,
    "io": frozenset({"open", "open_code", "FileIO"}),
    "_io": frozenset({"open", "open_code", "FileIO"}),
    "types": frozenset({"ModuleType"}),
    "operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "_operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "functools": frozenset({"partial"}),
    "numpy": frozenset({"load"}),
    "torch": frozenset({"load"}),
    "torch.serialization": frozenset({"load"}),
    "torch.storage": frozenset({"_load_from_bytes"}),
}

_TORCH_STORAGES = frozenset(
    f"{kind}Storage"
    for kind in [
        "Float",
        "Double",
        "Half",
        "BFloat16",
        "Long",
        "Int",
        "Short",
        "Char",
        "Byte",
        "Bool",
        "ComplexFloat",
        "ComplexDouble",
        "QUInt8",
        "QInt8",
        "QInt32",
        "QUInt4x2",
        "QUInt2x4",
        "Untyped",
        "Typed",
    ]
)
_TORCH_DTYPES = frozenset(
    [
        "float16",
        "float32",
        "float64",
        "bfloat16",
        "half",
        "float",
        "double",
        "complex32",
        "complex64",
        "complex128",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "bool",
        "qint8",
        "quint8",
        "qint32",
        "float8_e4m3fn",
        "float8_e5m2",
        "float8_e4m3fnuz",
        "float8_e5m2fnuz",
        "strided",
        "sparse_coo",
        "sparse_csr",
        "per_tensor_affine",
        "per_channel_affine",
    ]
)
_NUMPY_CORE = frozenset({"_reconstruct", "scalar"})

SAFE: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"set", "frozenset", "list", "dict", "tuple", "int", "float", "complex", "bool"}
        | {"bytes", "bytearray", "str", "slice", "range", "object"}
    ),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter"}),
    "copyreg": frozenset({"_reconstructor"}),
    "_codecs": frozenset({"encode"}),
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy.core.multiarray": _NUMPY_CORE,
    "numpy._core.multiarray": _NUMPY_CORE,
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "torch": _TORCH_STORAGES | _TORCH_DTYPES | {"Size", "device", "dtype"},
    "torch.storage": frozenset({"UntypedStorage", "TypedStorage"}),
    "torch._utils": frozenset(
        {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter"}
        | {"_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor"}
        | {"_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass"}
        | {"_rebuild_device_tensor_from_numpy"}
    ),
    "torch._tensor": frozenset({"_rebuild_from_type_v2"}),
    "torch.nn.parameter": frozenset({"Parameter"}),
    "torch.serialization": frozenset({"_get_layout"}),
}


# Modules code by value commonly names as a global (os.path.join, sys.version): what the code
# does with them is read from its names (pickle_calls.CODE_NAMES: system, popen, …).
CODE_MODULES = frozenset({"os", "os.path", "posixpath", "ntpath", "sys"})
# Modules that hand whoever imports them whole eval, exec, open or the like by attribute.
_WHOLE_MODULES_DANGEROUS = frozenset({"builtins", "__builtin__", "io", "_io", "types"})


class GlobalJudge:
    """Judges the references one scan meets, asking picklescan once per distinct global."""

    def __init__(self, trusted: frozenset[tuple[str, str]]) -> None:
        self._trusted = trusted
        self._picklescan: dict[tuple[str, str], str] = {}

    def judge(self, ref: Reference) -> Verdict | None:
        if isinstance(ref, CallRef):
            return judge_call(ref, self._module_danger)
        if isinstance(ref, ExtensionRef):
            return Verdict(
                FindingKind.EXTENSION_CODE,
                Severity.BLOCKING,
                f"imports the global registered under copyreg extension code {ref.code}",
            )
        return self._judge_global(ref)

    def _judge_global(self, ref: GlobalRef) -> Verdict | None:
        if ref.module is None or ref.name is None:
            return Verdict(
                FindingKind.DYNAMIC_GLOBAL,
                Severity.BLOCKING,
                f"{ref.opcode} imports a global whose name is computed while loading",
            )
        written = (ref.module, ref.name)
        loaded = python3_name(ref.module, ref.name) if ref.protocol < 3 else written
        shown = _spell(written) + ("" if loaded == written else f" (loaded as {_spell(loaded)})")
        if is_code_by_value(*loaded):
            return code_by_value(*loaded)
        # What the unpickler imports first; the spelling in the file too, to be strict.
        for candidate in dict.fromkeys((loaded, written)):
            why = self._danger(*candidate)
            if why:
                return Verdict(
                    FindingKind.DANGEROUS_GLOBAL,
                    Severity.BLOCKING,
                    f"imports the dangerous global {shown}: {why}",
                )
        if self._is_safe(*loaded):
            return None
        return Verdict(
            FindingKind.UNKNOWN_GLOBAL,
            Severity.WARNING,
            f"imports {shown}, which is not a known-safe global",
        )

    def _danger(self, module: str, name: str) -> str | None:
        if _listed(DANGEROUS, module, name):
            return "Cairn lists it among globals that run code, import, reach attributes or files"
        parts = name.split(".")
        if len(parts) > 1:
            if any(p.startswith("__") and p.endswith("__") for p in parts):
                return "its dotted name walks through a dunder attribute"
            walked = [module, *parts]
            for i in range(1, len(walked) - 1):
                if _listed(DANGEROUS, walked[i], walked[i + 1]):
                    return f"its dotted name reaches {walked[i]}.{walked[i + 1]}"
        if self._verdict(module, name) == "dangerous":
            return "picklescan lists it as dangerous"
        return None

    def _module_danger(self, module: str) -> str | None:
        """Why importing ``module`` as a whole is dangerous (None: it is not)."""
        module = python3_name(module, "")[0]
        if module in CODE_MODULES:
            return None
        if module in _WHOLE_MODULES_DANGEROUS:
            return "it hands out eval, exec, open or the like by attribute"
        if _listed(DANGEROUS, module, "\0every name"):
            return "Cairn lists every global of it as dangerous"
        if self._verdict(module, "\0every name") == "dangerous":
            return "picklescan lists every global of it as dangerous"
        return None

    def _is_safe(self, module: str, name: str) -> bool:
        return (
            _listed(SAFE, module, name)
            or (module, name) in self._trusted
            or self._verdict(module, name) == "innocuous"
        )

    def _verdict(self, module: str, name: str) -> str:
        key = (module, name)
        if key not in self._picklescan:
            self._picklescan[key] = picklescan_verdict(module, name)
        return self._picklescan[key]


def picklescan_verdict(module: str, name: str) -> str:
    """picklescan's safety level for one global: innocuous, suspicious or dangerous.

    picklescan offers its judgement only through its scanning functions, so it is handed the
    smallest pickle that imports exactly this global (two strings and a STACK_GLOBAL). It
    parses that pickle; nothing is unpickled.
    """
    probe = b"\x80\x04" + _binunicode(module) + _binunicode(name) + b"\x93."
    result = picklescan.scan_pickle_bytes(io.BytesIO(probe), "cairn-scan")
    levels = {g.safety.value for g in result.globals}
    if result.scan_err or len(levels) != 1:
        raise RuntimeError(f"picklescan could not judge {module} {name}")
    return str(levels.pop())


def python3_name(module: str, name: str) -> tuple[str, str]:
    """The global the unpickler imports for a Python 2 spelling (its ``fix_imports``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _listed(table: dict[str, frozenset[str]], module: str, name: str) -> bool:
    names = table.get(module)
    if names is not None and (names is ANY or name in names):
        return True
    # A submodule of a module that is dangerous as a whole is dangerous too (os.path).
    if table is DANGEROUS:
        parts = module.split(".")
        return any(table.get(".".join(parts[:i])) is ANY for i in range(1, len(parts)))
    return False


def _binunicode(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _spell(pair: tuple[str, str]) -> str:
    return f"'{pair[0]} {pair[1]}'"
