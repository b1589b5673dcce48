"""Code by value is a warning; what would let it hide a dangerous pickle is blocking; waivers
change a scan's status by the findings they name. Pickles are built from opcodes here and
never loaded."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from cairn.domain.scanning import FindingKind, ScanStatus, Severity, scan_file
from cairn.domain.scanning.results import finding_id
from cairn.domain.scanning.waivers import apply_waivers

P4 = b"\x80\x04"
CP = "cloudpickle.cloudpickle"


def short(value: str) -> bytes:
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:
    return short(module) + short(name) + b"\x93"


def scan(data: bytes) -> set[tuple[FindingKind, Severity]]:
    result = scan_file(io.BytesIO(data), "model.pkl")
    return {(f.kind, f.severity) for f in result.findings}


def code_args(names: tuple[str, ...]) -> bytes:
    """types.CodeType's arguments up to and with ``names`` (the 9th), as a tuple."""
    ints = b"K\x00" * 6  # argcount … flags
    return b"(" + ints + b"C\x00" + b")" + b"(" + b"".join(short(n) for n in names) + b"t" + b"t"


WARNINGS = {
    "types.CodeType": P4 + glob("types", "CodeType") + b".",
    "_make_function": P4 + glob(CP, "_make_function") + b".",
    "_builtin_type CodeType": P4 + glob(CP, "_builtin_type") + short("CodeType") + b"\x85R.",
    "subimport numpy": P4 + glob(CP, "subimport") + short("numpy") + b"\x85R.",
    "subimport os.path": P4 + glob(CP, "subimport") + short("os.path") + b"\x85R.",
    "code naming os.path.join": (
        P4 + glob("types", "CodeType") + code_args(("os", "path", "join")) + b"R."
    ),
}  # fmt: skip


@pytest.mark.parametrize("data", WARNINGS.values(), ids=WARNINGS.keys())
def test_code_by_value_alone_is_a_warning(data: bytes) -> None:
    found = scan(data)
    assert (FindingKind.CODE_BY_VALUE, Severity.WARNING) in found
    assert all(severity is not Severity.BLOCKING for _, severity in found), found


BLOCKING = {
    "code naming system": (
        P4 + glob("types", "CodeType") + code_args(("os", "system")) + b"R.",
        FindingKind.CODE_BY_VALUE,
    ),
    "code naming __import__": (
        P4 + glob(CP, "_builtin_type") + short("CodeType") + b"\x85R"
        + code_args(("__import__",)) + b"R.",
        FindingKind.CODE_BY_VALUE,
    ),
    "a built function called while loading": (
        P4 + glob(CP, "_make_function") + b")R" + b")R.",
        FindingKind.LOAD_TIME_CALL,
    ),
    "an object built by NEWOBJ called": (
        P4 + glob("collections", "OrderedDict") + b")\x81" + b")R.",
        FindingKind.LOAD_TIME_CALL,
    ),
    "BUILD on an imported global": (
        P4 + glob("collections", "OrderedDict") + b"}b.",
        FindingKind.LOAD_TIME_CALL,
    ),
    "_class_setstate on an imported class": (
        P4 + glob(CP, "_class_setstate") + glob("collections", "OrderedDict") + b"}\x86R.",
        FindingKind.LOAD_TIME_CALL,
    ),
    "subimport socket": (
        P4 + glob(CP, "subimport") + short("socket") + b"\x85R.",
        FindingKind.DANGEROUS_GLOBAL,
    ),
    "subimport builtins": (
        P4 + glob(CP, "subimport") + short("builtins") + b"\x85R.",
        FindingKind.DANGEROUS_GLOBAL,
    ),
    "subimport of a computed name": (
        P4 + glob(CP, "subimport") + b"N\x85R.",
        FindingKind.DYNAMIC_GLOBAL,
    ),
    "_builtin_type of a computed name": (
        P4 + glob(CP, "_builtin_type") + b"N\x85R.",
        FindingKind.DYNAMIC_GLOBAL,
    ),
    "a dangerous global beside code by value": (
        P4 + glob("types", "CodeType") + b"0" + glob("posix", "system") + short("id") + b"\x85R.",
        FindingKind.DANGEROUS_GLOBAL,
    ),
}  # fmt: skip


@pytest.mark.parametrize("data, kind", BLOCKING.values(), ids=BLOCKING.keys())
def test_what_would_let_code_by_value_hide_is_blocking(data: bytes, kind: FindingKind) -> None:
    assert (kind, Severity.BLOCKING) in scan(data)


def test_calling_what_cannot_be_called_reports_nothing() -> None:
    """A string, a number or a list is not callable: the unpickler fails, nothing runs."""
    for callee in (short("os"), b"K\x05", b"]"):
        assert scan(P4 + callee + b")R.") == set(), callee
    # Bytes that are not a pickle, read as one (weights.bin), make no call either.
    for seed in range(20):
        noise = random.Random(seed).randbytes(4096)
        found = scan_file(io.BytesIO(noise), "weights.bin").findings
        assert not [f for f in found if f.kind is FindingKind.LOAD_TIME_CALL], seed


def _details(*findings: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "findings": [
            {"file": "m.pkl", "path": "", "kind": k, "severity": s, "message": m}
            for k, s, m in findings
        ]
    }


def test_a_waiver_takes_its_finding_out_of_the_status() -> None:
    details = _details(
        ("dangerous_global", "blocking", "imports os.system"),
        ("code_by_value", "warning", "ships code"),
    )
    blocking = finding_id("m.pkl", "", "dangerous_global", "imports os.system")
    warning = finding_id("m.pkl", "", "code_by_value", "ships code")
    waiver = {"by": "carol", "reason": "reviewed", "at": "2026-01-01T00:00:00Z"}
    assert apply_waivers("flagged", details, {})[0] == ScanStatus.FLAGGED
    status, marked = apply_waivers("flagged", details, {blocking: waiver})
    assert status == ScanStatus.WARNINGS
    assert [f.get("waived") for f in marked["findings"]] == [waiver, None]
    assert apply_waivers("flagged", details, {blocking: waiver, warning: waiver})[0] == "clean"
    # A scan that lists fewer findings than it found keeps its status.
    many = _details(*[("unknown_global", "warning", f"g{i}") for i in range(200)])
    ids = {f["id"]: waiver for f in apply_waivers("warnings", many, {})[1]["findings"]}
    assert apply_waivers("warnings", many, ids)[0] == "warnings"
    # A result stored by the earlier rules (critical, medium) keeps what its severities meant.
    legacy = _details(("dangerous_global", "critical", "a"), ("unknown_global", "medium", "b"))
    first = finding_id("m.pkl", "", "dangerous_global", "a")
    assert apply_waivers("flagged", legacy, {first: waiver})[0] == "warnings"
    assert apply_waivers("flagged", _details(("x", "odd", "c")), {})[0] == "flagged"
    # Pending and running scans are not judged.
    assert apply_waivers("pending", {}, {blocking: waiver})[0] == "pending"
