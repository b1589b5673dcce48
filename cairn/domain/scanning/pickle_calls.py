"""Code by value: what cloudpickle writes, and what it must not be allowed to hide.

cloudpickle (and so every MLflow ``PythonModel`` logged as an object) ships functions and
classes *by value*: their code objects are rebuilt from the pickle (``types.CodeType``,
cloudpickle's ``_make_function``, ``_make_skeleton_class``, …). Rebuilding a function runs
none of it; the code runs when the model is *used*, as any model's code does. So code by
value is a **warning**: unusual, and a reviewer should know the version carries code, but
not a sign of an attack. A policy may accept it (``accept_scan_warnings``).

What keeps it from being a way around the blocking rules:

- every global the pickle imports is still judged on its own: a pickle that imports
  ``os.system`` is blocking whether or not it also carries code by value;
- a **call made while loading** of anything but an imported global (``REDUCE`` or ``OBJ`` of
  a function, class or object the pickle built by calling something) is blocking: that is
  how code by value would run at load time rather than at use;
- a **change to an imported global while loading** (``BUILD``, ``SETITEM(S)``,
  ``APPEND(S)``, ``ADDITEMS`` on it, or cloudpickle's ``_class_setstate`` /
  ``_function_setstate`` applied to it) is blocking: it would swap an imported class's or
  function's code for code by value;
- a module imported **by name** (cloudpickle's ``subimport("os")``) is judged as that module:
  blocking when the module is dangerous as a whole, or when its name is not visible;
- the **names a code object uses** (its ``co_names``, the 9th argument of
  ``types.CodeType``) are read, and a code object that names a process, shell, socket,
  import or interpreter-escape facility (``system``, ``Popen``, ``subprocess``, ``socket``,
  ``__import__``, ``exec``, ``__subclasses__``, …; see ``CODE_NAMES``) is blocking.

What it cannot see, said plainly: code by value is Python, and Python run when the model is
used can do anything its names do not give away (``eval`` and ``compile`` are names torch's
``Module.eval`` and ``re.compile`` share, so they do not block; ``open`` is how a model reads
its artifacts). A by-value class's ``__new__`` or ``__setstate__`` runs when the unpickler
builds an instance of it. That is why code by value is reported as a warning every time, and
why accepting warnings is a policy's explicit choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cairn.domain.scanning.pickle_values import (
    CLOUDPICKLE_MODULES,
    CallRef,
    GlobalValue,
    TupleValue,
    Value,
)
from cairn.domain.scanning.results import FindingKind, Severity

# What cloudpickle's reducers name when they ship code or classes by value.
CLOUDPICKLE_NAMES = frozenset(
    {"_builtin_type", "_make_function", "_function_setstate", "_make_cell", "_make_empty_cell"}
    | {"_make_skeleton_class", "_make_skeleton_enum", "_class_setstate", "_make_typevar"}
    | {"_lookup_class_or_track", "subimport", "dynamic_subimport", "_make_dict_keys"}
    | {"_make_dict_values", "_make_dict_items", "_file_reconstructor"}
    | {"_get_dataclass_field_type_sentinel"}
)
CODE_TYPES = frozenset({"CodeType", "FunctionType", "LambdaType", "CellType", "MethodType"})
_SETSTATE = frozenset({"_class_setstate", "_function_setstate"})
_SUBIMPORT = "subimport"

# Names that make a code object shipped by value blocking (see the module's docstring).
CODE_NAMES = frozenset(
    {"system", "popen", "Popen", "subprocess", "_posixsubprocess", "pty", "posix", "nt"}
    | {"spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe"}
    | {"posix_spawn", "posix_spawnp", "execl", "execle", "execlp", "execlpe", "execv"}
    | {"execve", "execvp", "execvpe", "fork", "forkpty", "check_output", "check_call"}
    | {"getoutput", "getstatusoutput", "runpy", "run_path", "run_module", "socket"}
    | {"create_connection", "ctypes", "CDLL", "cdll", "importlib", "import_module"}
    | {"shutil", "rmtree", "webbrowser", "marshal", "__import__", "exec", "breakpoint"}
    | {"__builtins__", "__subclasses__", "__globals__", "__code__"}
)
_CODE_NAMES_INDEX = 8  # types.CodeType(argcount, posonly, kwonly, nlocals, stacksize, flags,
# codestring, constants, names, …) since Python 3.8


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: FindingKind
    severity: Severity
    message: str


def is_code_by_value(module: str, name: str) -> bool:
    """Whether importing ``module.name`` is how a pickle ships code by value."""
    if module in CLOUDPICKLE_MODULES:
        return name in CLOUDPICKLE_NAMES
    return module == "types" and name in CODE_TYPES


def code_by_value(module: str, name: str) -> Verdict:
    return Verdict(
        FindingKind.CODE_BY_VALUE,
        Severity.WARNING,
        f"ships code by value ('{module} {name}'): the code runs when the model is used",
    )


def judge_call(ref: CallRef, module_danger: Callable[[str], str | None]) -> Verdict | None:
    """A call or change the unpickler would make; ``module_danger`` says why a module imported
    as a whole is dangerous (None: it is not)."""
    callee = ref.callee
    if ref.action == "mutate":
        return _load_time(f"{ref.opcode} changes the imported global {_spell(callee)}")
    if not isinstance(callee, GlobalValue):
        return _load_time(f"{ref.opcode} calls a value the pickle built, not an imported global")
    args = ref.args.items if isinstance(ref.args, TupleValue) else None
    if callee.module in CLOUDPICKLE_MODULES and callee.name == _SUBIMPORT:
        module = args[0] if args and isinstance(args[0], str) else None
        if module is None:
            return Verdict(
                FindingKind.DYNAMIC_GLOBAL,
                Severity.BLOCKING,
                "imports a module whose name is computed while loading (cloudpickle subimport)",
            )
        why = module_danger(module)
        if why:
            return Verdict(
                FindingKind.DANGEROUS_GLOBAL,
                Severity.BLOCKING,
                f"imports the dangerous module '{module}' by name (cloudpickle subimport): {why}",
            )
    elif callee.module in CLOUDPICKLE_MODULES and callee.name in _SETSTATE:
        target = args[0] if args else None
        if isinstance(target, GlobalValue):
            return _load_time(f"cloudpickle {callee.name} rewrites {_spell(target)}")
    elif callee.module == "types" and callee.name == "CodeType":
        return _code_names(args)
    return None


def _code_names(args: tuple[Value, ...] | None) -> Verdict | None:
    names = args[_CODE_NAMES_INDEX] if args and len(args) > _CODE_NAMES_INDEX else None
    if not isinstance(names, TupleValue):
        return None  # not visible: the code-by-value warning stands for it
    used = sorted({n for n in names.items if isinstance(n, str)} & CODE_NAMES)
    if not used:
        return None
    return Verdict(
        FindingKind.CODE_BY_VALUE,
        Severity.BLOCKING,
        "ships code by value that uses " + ", ".join(used),
    )


def _load_time(message: str) -> Verdict:
    return Verdict(
        FindingKind.LOAD_TIME_CALL,
        Severity.BLOCKING,
        f"{message}: code by value would run as the file is loaded",
    )


def _spell(value: Value) -> str:
    return f"'{value.module} {value.name}'" if isinstance(value, GlobalValue) else "a value"
