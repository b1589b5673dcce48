"""The model-file scanner reads bytes and runs nothing.

Every malicious input is built here, byte by byte or by pickling an object whose
``__reduce__`` names ``os.system`` (pickling only records the call); none is ever unpickled.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import stat
import struct
import tarfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

import cairn.domain.scanning as scanning
from cairn.domain.scanning import (
    FileScanResult,
    FindingKind,
    ScanOptions,
    ScanStatus,
    Severity,
    scan_file,
    summarise_version,
)
from cairn.domain.scanning.pickle_scan import TORCH_LEGACY_MAGIC

P2, P4 = b"\x80\x02", b"\x80\x04"


def text(value: str) -> bytes:  # BINUNICODE, as protocols 2 and 3 write strings
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def short(value: str) -> bytes:  # SHORT_BINUNICODE, protocol 4
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:  # GLOBAL, the protocol 0 text form
    return b"c" + f"{module}\n{name}\n".encode()


def stack_glob(module: str, name: str) -> bytes:
    return short(module) + short(name) + b"\x93"


def call1(func: bytes, arg: bytes) -> bytes:  # func(arg) through TUPLE1 + REDUCE
    return func + arg + b"\x85R"


class RunsShell:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned",))


MALICIOUS = pickle.dumps(RunsShell())


def scan(data: bytes, path: str = "model.pkl", **options: Any) -> FileScanResult:
    return scan_file(io.BytesIO(data), path, ScanOptions(**options))


STATUS_OF = {Severity.BLOCKING: ScanStatus.FLAGGED, Severity.WARNING: ScanStatus.WARNINGS}


def kinds(result: FileScanResult) -> set[tuple[str, FindingKind, Severity]]:
    return {(f.path, f.kind, f.severity) for f in result.findings}


def assert_runs_shell(result: FileScanResult, path: str = "") -> None:
    assert result.status is ScanStatus.FLAGGED
    assert (path, FindingKind.DANGEROUS_GLOBAL, Severity.BLOCKING) in kinds(result)
    assert any("system" in f.message for f in result.findings)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


# --- pickles ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["model.pkl", "model.pt", "weights.bin", "model.ckpt", "x"])
def test_a_reduce_to_os_system_is_critical_whatever_the_name(path: str) -> None:
    result = scan(MALICIOUS, path)
    assert_runs_shell(result)
    assert result.format == "pickle"


def test_protocol_0_and_1_pickles_are_flagged_too() -> None:
    for protocol in (0, 1):
        assert_runs_shell(scan(pickle.dumps(RunsShell(), protocol=protocol)))


GADGETS = {
    "eval, protocol 0 text": b"cbuiltins\neval\n(S'1+1'\ntR.",
    "Python 2 __builtin__.eval": P2 + call1(glob("__builtin__", "eval"), text("1")) + b".",
    "exec by STACK_GLOBAL": P4 + call1(stack_glob("builtins", "exec"), short("x=1")) + b".",
    "subprocess.Popen by INST": b"(S'id'\nisubprocess\nPopen\n.",
    "runpy._run_code": P4 + stack_glob("runpy", "_run_code") + short("1") + b"}\x86R.",
    "getattr + __import__ chain": P4
    + stack_glob("builtins", "getattr")
    + b"("
    + call1(stack_glob("builtins", "__import__"), short("os"))
    + short("system")
    + b"tR"
    + short("id")
    + b"\x85R.",
    "posix.system": P2 + call1(glob("posix", "system"), text("id")) + b".",
    "nt.system": P2 + call1(glob("nt", "system"), text("id")) + b".",
    "names memoized, then fetched": P4
    + short("os")
    + b"\x94"
    + short("system")
    + b"\x94"
    + b"00h\x00h\x01\x93"
    + short("id")
    + b"\x85R.",
    "names PUT and GET as text": b"S'os'\np0\n0S'system'\np1\n0g0\ng1\n\x93S'id'\n\x85R.",
    "OBJ": b"(cos\nsystem\nS'id'\no.",
    "NEWOBJ": P2 + glob("subprocess", "Popen") + b"(" + text("id") + b"t\x81.",
    "BUILD planting __setstate__": P2
    + glob("collections", "OrderedDict")
    + b")R}(X\x0c\x00\x00\x00__setstate__"
    + glob("os", "system")
    + b"ub"
    + text("id")
    + b"b.",
    "Python 2 commands.getoutput": P2 + call1(glob("commands", "getoutput"), text("id")) + b".",
    "a dotted name through a module": P4 + call1(stack_glob("torch", "os.system"), short("id")),
    "a dotted name through dunders": P4 + stack_glob("collections", "OrderedDict.__init__.x"),
    "only picklescan knows it": P4 + stack_glob("uuid", "_get_command_stdout") + b".",
}


@pytest.mark.parametrize("data", GADGETS.values(), ids=GADGETS.keys())
def test_every_gadget_is_a_critical_dangerous_global(data: bytes) -> None:
    result = scan(data)
    assert result.status is ScanStatus.FLAGGED
    assert ("", FindingKind.DANGEROUS_GLOBAL, Severity.BLOCKING) in kinds(result)


def test_a_global_named_by_a_computed_string_is_critical() -> None:
    computed = call1(stack_glob("builtins", "str"), short("os"))
    result = scan(P4 + computed + short("system") + b"\x93.")
    assert ("", FindingKind.DYNAMIC_GLOBAL, Severity.BLOCKING) in kinds(result)


def test_an_extension_code_is_high() -> None:
    result = scan(P2 + call1(b"\x82\x01", text("id")) + b".")
    assert kinds(result) == {("", FindingKind.EXTENSION_CODE, Severity.BLOCKING)}


def test_an_unknown_global_is_medium_unless_the_namespace_trusts_it() -> None:
    data = P4 + call1(stack_glob("sklearn.tree", "DecisionTreeClassifier"), b")") + b"."
    assert kinds(scan(data)) == {("", FindingKind.UNKNOWN_GLOBAL, Severity.WARNING)}
    trusted = frozenset({("sklearn.tree", "DecisionTreeClassifier")})
    assert scan(data, trusted_globals=trusted).status is ScanStatus.CLEAN
    # Trust never outranks the dangerous lists.
    evil = scan(MALICIOUS, trusted_globals=frozenset({("posix", "system")}))
    assert evil.status is ScanStatus.FLAGGED


PLAIN = {"a": [1, 2.5, -3, 2**80], "s": "text", "b": b"\x00\xff", "n": None, "t": (True,)}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_is_clean_in_every_protocol(protocol: int) -> None:
    data = pickle.dumps([PLAIN, {1, 2}, frozenset({"x"}), bytearray(b"y")], protocol=protocol)
    result = scan(data)
    assert (result.status, result.findings, result.format) == (ScanStatus.CLEAN, (), "pickle")


def torch_data_pkl(payload: bytes = b"") -> bytes:
    """The data.pkl PyTorch writes for ``{"fc.weight": <2x2 float tensor>}``, by hand."""
    ordered_dict = glob("collections", "OrderedDict") + b")R"
    storage = b"(" + text("storage") + glob("torch", "FloatStorage") + text("0")
    storage += text("cpu") + b"K\x04tQ"  # BINPERSID: the loader's persistent_load
    tensor = glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage
    tensor += b"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89" + ordered_dict + b"tR"
    return P2 + ordered_dict + b"(" + text("fc.weight") + tensor + payload + b"u."


def torch_zip(data_pkl: bytes) -> bytes:
    floats = struct.pack("<4f", 1, 2, 3, 4)
    return zip_of(
        {
            "model/data.pkl": data_pkl,
            "model/byteorder": b"little",
            "model/data/0": floats,
            "model/version": b"3\n",
            "model/.data/serialization_id": b"1234",
        }
    )


def test_a_realistic_pytorch_zip_is_clean() -> None:
    result = scan(torch_zip(torch_data_pkl()), "pytorch_model.bin")
    assert (result.status, result.findings, result.format) == (ScanStatus.CLEAN, (), "zip")


def test_a_pytorch_zip_with_a_payload_is_flagged_at_its_data_pkl() -> None:
    payload = text("x") + glob("os", "system") + text("id") + b"\x85R"
    assert_runs_shell(scan(torch_zip(torch_data_pkl(payload)), "model.pt"), "model/data.pkl")


def legacy_torch(main_pickle: bytes) -> bytes:
    head = [TORCH_LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}]
    pickles = b"".join(pickle.dumps(value, protocol=2) for value in head)
    return pickles + main_pickle + pickle.dumps(["0"], protocol=2) + b"\x80\x02\x93garbage"


def test_a_legacy_pytorch_file_is_read_as_five_pickles_and_raw_bytes() -> None:
    assert scan(legacy_torch(torch_data_pkl()), "old.pt").status is ScanStatus.CLEAN
    assert_runs_shell(scan(legacy_torch(MALICIOUS), "old.pt"))
    assert scan(legacy_torch(torch_data_pkl())[:60], "old.pt").status is ScanStatus.ERROR


def test_a_second_pickle_is_scanned_and_trailing_bytes_are_low() -> None:
    assert_runs_shell(scan(pickle.dumps(1) + MALICIOUS))
    result = scan(pickle.dumps({"a": 1}) + b"\xff\xfe trailing")
    assert result.status is ScanStatus.CLEAN
    assert kinds(result) == {("", FindingKind.TRAILING_DATA, Severity.INFO)}


@pytest.mark.parametrize("cut", [1, 5, len(MALICIOUS) // 2, len(MALICIOUS) - 1])
def test_a_truncated_pickle_is_an_error_or_worse_never_clean(cut: int) -> None:
    result = scan(MALICIOUS[:cut])
    assert result.status is not ScanStatus.CLEAN
    assert any(f.kind is FindingKind.SCAN_ERROR for f in result.findings)


def test_a_truncated_harmless_pickle_and_an_empty_one_are_errors() -> None:
    assert scan(pickle.dumps(PLAIN)[:-3]).status is ScanStatus.ERROR
    assert scan(b"", "empty.pkl").status is ScanStatus.ERROR
    assert scan(b"\xff\x00 not a pickle", "x.pkl").status is ScanStatus.ERROR


def test_raw_bytes_in_a_bin_file_are_not_a_pickle() -> None:
    result = scan(bytes(range(256)) * 4, "weights.bin")
    assert (result.status, result.format) == (ScanStatus.CLEAN, "unrecognised")


def test_a_pickle_that_is_also_a_zip_is_scanned_both_ways() -> None:
    polyglot = pickle.dumps([1, 2]) + torch_zip(MALICIOUS)
    assert_runs_shell(scan(polyglot, "model.pkl"), "model/data.pkl")


def test_object_arrays_in_npy_files_are_scanned_as_pickles() -> None:
    def npy(descr: str, body: bytes) -> bytes:
        header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}".encode()
        header += b" " * (-(len(header) + 11) % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body

    assert_runs_shell(scan(npy("|O", MALICIOUS), "a.npy"))
    assert scan(npy("<f4", b"\x00" * 4), "a.npy").status is ScanStatus.CLEAN
    assert_runs_shell(scan(zip_of({"arr.npy": npy("|O", MALICIOUS)}), "a.npz"), "arr.npy")


def test_huge_payloads_and_lines_stream_in_bounded_memory(tmp_path: Path) -> None:
    size = 64 * 2**20
    big = tmp_path / "big.pkl"
    with big.open("wb") as out:
        out.write(P4 + b"\x8e" + struct.pack("<Q", size))
        for _ in range(size // 2**20):
            out.write(bytes(2**20))
        out.write(b"0V" + b"a" * (8 * 2**20) + b"\n" + b"0" + glob("os", "system") + b".")
    tracemalloc.start()
    try:
        with big.open("rb") as stream:
            result = scan_file(stream, "big.pkl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_runs_shell(result)
    assert peak < 4 * 2**20


def test_pickles_past_the_scanners_limits_are_errors() -> None:
    deep = P2 + b"(" + b"K\x01" * 50 + b"l."
    assert scan(deep, max_pickle_stack=10).status is ScanStatus.ERROR
    memo = P4 + b"".join(short(f"s{i}") + b"\x94" for i in range(50)) + b"."
    assert scan(memo, max_pickle_memo=10).status is ScanStatus.ERROR


def test_findings_past_the_limit_are_summed_up_without_softening_the_status() -> None:
    unknown = b"".join(stack_glob("pkg", f"f{i}") + b"0" for i in range(20))
    result = scan(P4 + unknown + glob("os", "system") + b".", max_findings=5)
    assert len(result.findings) == 6
    assert result.findings[-1].kind is FindingKind.TOO_MANY_FINDINGS
    assert result.findings[-1].severity is Severity.BLOCKING
    assert result.status is ScanStatus.FLAGGED


def test_a_stream_that_fails_mid_read_is_an_error() -> None:
    class Failing(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            self.reads += 1
            if self.reads > 1:
                raise OSError("the disk went away")
            return super().read(size)

    result = scan_file(Failing(pickle.dumps(PLAIN)), "model.pkl")
    assert result.status is ScanStatus.ERROR
    assert "the disk went away" in result.findings[0].message


# --- archives -----------------------------------------------------------------------------


def test_pickles_in_zips_tars_and_gzips_are_found_at_their_member_path() -> None:
    assert_runs_shell(scan(zip_of({"a.txt": b"hi", "x/p.pkl": MALICIOUS}), "a.zip"), "x/p.pkl")
    tar = tar_of((tar_member("p.pkl"), MALICIOUS))
    assert_runs_shell(scan(tar, "a.tar"), "p.pkl")
    assert_runs_shell(scan(gzip.compress(tar), "a.tar.gz"), "p.pkl")
    assert_runs_shell(scan(gzip.compress(MALICIOUS), "model.pkl.gz"))
    nested = zip_of({"inner.zip": zip_of({"data.pkl": MALICIOUS})})
    assert_runs_shell(scan(nested, "outer.zip"), "inner.zip!/data.pkl")


UNSAFE_NAMES = {
    "../evil.pkl": Severity.BLOCKING,
    "a/../../evil": Severity.BLOCKING,
    "..\\evil": Severity.BLOCKING,
    "/etc/cron.d/x": Severity.BLOCKING,
    "C:/Windows/x": Severity.BLOCKING,
    "a/../b": Severity.WARNING,
    "a\x07b": Severity.WARNING,
    # The one path rule, segment by segment (cairn.domain.paths).
    "weights/C:evil.bin": Severity.WARNING,
    "model.bin:hidden": Severity.WARNING,
    "model\u202enip.exe": Severity.WARNING,
    "a/\u2066b": Severity.WARNING,
    "logs/con.txt": Severity.WARNING,
    "NUL": Severity.WARNING,
    "a/b.": Severity.WARNING,
    "a//b": Severity.WARNING,
    "/".join(["d"] * 65): Severity.WARNING,
}


@pytest.mark.parametrize(("name", "severity"), UNSAFE_NAMES.items())
def test_unsafe_member_names_are_flagged_in_zip_and_tar(name: str, severity: Severity) -> None:
    # A finding names the member with its control and invisible characters escaped.
    shown = name.replace("\x07", "\\x07").replace("\u202e", "\\u202e").replace("\u2066", "\\u2066")
    expected = (shown, FindingKind.UNSAFE_MEMBER_PATH, severity)
    for data, path in (
        (zip_of({name: b"x"}), "a.zip"),
        (tar_of((tar_member(name), b"x")), "a.tar"),
    ):
        result = scan(data, path)
        assert result.status is STATUS_OF[severity]
        assert expected in kinds(result)


def test_findings_escape_what_a_database_or_a_terminal_cannot_take() -> None:
    pickled = b"\x80\x02cfoo\x00bar\x1b[31m\nsys" + "\u202e".encode() + b"tem\n)R."
    result = scan(pickled, "w.pkl")
    assert result.status is ScanStatus.WARNINGS
    (finding,) = result.findings
    assert "foo\\x00bar\\x1b[31m" in finding.message, finding.message
    assert "sys\\u202etem" in finding.message, finding.message
    assert finding.message.isprintable()


def test_the_names_tar_and_zip_write_for_folders_are_not_flagged() -> None:
    tar = tar_of(
        (tar_member("./", tarfile.DIRTYPE), b""),
        (tar_member("./model", tarfile.DIRTYPE), b""),
        (tar_member("./model/weights.bin"), b"x"),
    )
    assert scan(tar, "a.tar").findings == ()
    assert scan(zip_of({"model/": b"", "model/weights.bin": b"x"}), "a.zip").findings == ()


@pytest.mark.parametrize(
    ("member", "severity"),
    [
        (tar_member("link", tarfile.SYMTYPE, "/etc/passwd"), Severity.BLOCKING),
        (tar_member("a/link", tarfile.SYMTYPE, "../../etc/passwd"), Severity.BLOCKING),
        (tar_member("a/link", tarfile.SYMTYPE, "../b"), Severity.WARNING),
        (tar_member("hard", tarfile.LNKTYPE, "../outside"), Severity.BLOCKING),
        (tar_member("hard", tarfile.LNKTYPE, "a/b"), Severity.WARNING),
    ],
)
def test_tar_links_are_flagged(member: tarfile.TarInfo, severity: Severity) -> None:
    result = scan(tar_of((member, b"")), "a.tar")
    assert kinds(result) == {(member.name, FindingKind.ARCHIVE_LINK, severity)}


def test_zip_symlinks_devices_and_duplicates_are_flagged() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("link", b"again")
    found = kinds(scan(buffer.getvalue(), "a.zip"))
    assert ("link", FindingKind.ARCHIVE_LINK, Severity.BLOCKING) in found
    assert ("link", FindingKind.DUPLICATE_MEMBER, Severity.WARNING) in found
    device = tar_of((tar_member("dev", tarfile.CHRTYPE), b""))
    assert kinds(scan(device, "a.tar")) == {("dev", FindingKind.SPECIAL_MEMBER, Severity.WARNING)}


def test_broken_archives_and_limits_are_errors() -> None:
    assert scan(b"PK\x03\x04" + b"\x00" * 100, "a.zip").status is ScanStatus.ERROR
    truncated_tar = tar_of((tar_member("p.pkl"), MALICIOUS))[:600]
    assert ("", FindingKind.SCAN_ERROR, Severity.BLOCKING) in kinds(scan(truncated_tar, "a.tar"))
    assert scan(gzip.compress(MALICIOUS)[:-12], "a.pkl.gz").status is ScanStatus.ERROR
    deep = zip_of({"b.zip": zip_of({"c.zip": zip_of({"ok.txt": b"hi"})})})
    result = scan(deep, "a.zip", max_nesting=2)
    assert kinds(result) == {("b.zip!/c.zip", FindingKind.SCAN_ERROR, Severity.BLOCKING)}
    many = zip_of({f"f{i}.txt": b"" for i in range(5)})
    assert scan(many, "a.zip", max_members=3).status is ScanStatus.ERROR
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        secret = zipfile.ZipInfo("secret.pkl")
        secret.flag_bits |= 0x1
        archive.writestr(secret, b"ciphertext")
    assert scan(buffer.getvalue(), "a.zip").status is ScanStatus.ERROR


def test_a_zip_whose_directory_is_too_large_to_load_is_an_error() -> None:
    data = zip_of({"a.txt": b"x"})
    end = data.rfind(b"PK\x05\x06")
    claims = data[: end + 12] + struct.pack("<I", 2**30) + data[end + 16 :]
    assert "central directory" in scan(claims, "a.zip").findings[0].message
    # The same claim made in a zip64 end record, which the classic one points to.
    record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 1, 1, 2**40, 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, end, 1)
    classic = data[end : end + 12] + b"\xff" * 4 + data[end + 16 :]
    zip64 = data[:end] + record + locator + classic
    assert "central directory" in scan(zip64, "a.zip").findings[0].message


# --- safetensors --------------------------------------------------------------------------

TENSORS: dict[str, Any] = {
    "__metadata__": {"format": "pt"},
    "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},
    "empty": {"dtype": "I64", "shape": [0], "data_offsets": [22, 22]},
    "nibbles": {"dtype": "F4", "shape": [4], "data_offsets": [22, 24]},
}
DATA = bytes(24)


def safetensors(header: dict[str, Any] | bytes, data: bytes = DATA, length: int = -1) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length < 0 else length) + raw + data


def tensors(**changes: Any) -> dict[str, Any]:
    return {**TENSORS, **changes}


def test_a_valid_safetensors_file_is_clean() -> None:
    result = scan(safetensors(TENSORS), "model.safetensors")
    assert (result.status, result.findings, result.format) == (ScanStatus.CLEAN, (), "safetensors")
    assert scan(safetensors(TENSORS), "no-suffix").format == "safetensors"


BROKEN_SAFETENSORS = {
    "length past the file": (safetensors(TENSORS, length=10_000), Severity.BLOCKING),
    "length over the limit": (safetensors(TENSORS, length=2**40), Severity.BLOCKING),
    "shorter than the length": (b"\x01\x02", Severity.WARNING),
    "invalid JSON": (safetensors(b'{"a": '), Severity.WARNING),
    "not UTF-8": (safetensors(b'{"\xff": 1}'), Severity.WARNING),
    "NaN": (safetensors(b'{"a": NaN}'), Severity.WARNING),
    "duplicate key": (safetensors(b'{"a": {}, "a": {}}'), Severity.WARNING),
    "not an object": (safetensors(b"[1, 2]"), Severity.WARNING),
    "overlapping": (
        safetensors(tensors(b={"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]})),
        Severity.BLOCKING,
    ),
    "out of bounds": (
        safetensors(tensors(nibbles={"dtype": "F4", "shape": [64], "data_offsets": [22, 54]})),
        Severity.BLOCKING,
    ),
    "offsets not a pair": (
        safetensors(tensors(a={"dtype": "F32", "shape": [2, 2], "data_offsets": [16]})),
        Severity.BLOCKING,
    ),
    "unknown dtype": (
        safetensors(tensors(a={"dtype": "F17", "shape": [2, 2], "data_offsets": [0, 16]})),
        Severity.WARNING,
    ),
    "shape and size disagree": (
        safetensors(tensors(a={"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 16]})),
        Severity.WARNING,
    ),
    "half a byte": (
        safetensors(tensors(nibbles={"dtype": "F4", "shape": [3], "data_offsets": [22, 24]})),
        Severity.WARNING,
    ),
    "negative shape": (
        safetensors(tensors(a={"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]})),
        Severity.WARNING,
    ),
    "metadata not str to str": (safetensors(tensors(__metadata__={"n": 1})), Severity.WARNING),
    "unused bytes": (safetensors(TENSORS, DATA + bytes(8)), Severity.WARNING),
}


@pytest.mark.parametrize(
    ("data", "severity"), BROKEN_SAFETENSORS.values(), ids=BROKEN_SAFETENSORS.keys()
)
def test_a_broken_safetensors_header_is_flagged(data: bytes, severity: Severity) -> None:
    result = scan(data, "model.safetensors")
    assert result.status is STATUS_OF[severity]
    assert ("", FindingKind.SAFETENSORS_HEADER, severity) in kinds(result)


# --- results ------------------------------------------------------------------------------


def test_a_version_summary_is_flagged_before_error_before_clean() -> None:
    clean = scan(pickle.dumps(1), "b.pkl")
    error = scan(b"", "c.pkl")
    flagged = scan(MALICIOUS, "a.pkl")
    summary = summarise_version([error, clean, flagged])
    assert summary.status is ScanStatus.FLAGGED
    assert [r.path for r in summary.files] == ["a.pkl", "b.pkl", "c.pkl"]
    assert (summary.flagged_paths, summary.error_paths) == (("a.pkl",), ("c.pkl",))
    assert summary.worst_severity is Severity.BLOCKING
    assert summarise_version([clean, error]).status is ScanStatus.ERROR
    assert summarise_version([clean]).status is ScanStatus.CLEAN
    assert summarise_version([]).status is ScanStatus.CLEAN
    assert summary.scanner_version == scanning.scanner_version()


def test_every_result_names_the_scanner_and_unrecognised_files_pass() -> None:
    result = scan(b'{"model_type": "bert"}', "config.json")
    assert (result.status, result.format, result.findings) == (ScanStatus.CLEAN, "unrecognised", ())
    assert result.scanner == scanning.SCANNER_NAME
    assert "+picklescan-" in result.scanner_version


def test_the_public_names_exist() -> None:
    assert all(hasattr(scanning, name) for name in scanning.__all__)
