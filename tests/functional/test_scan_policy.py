"""Dangerous is not unusual: under the default policy a cloudpickled MLflow ``PythonModel``
(code by value, a warning) reaches production through the unchanged MLflow client and through
Cairn's promote, while a pickle of each blocking kind — built here from opcodes or
``__reduce__``, never loaded — is refused at promotion with its finding named."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from cairn.client import Client
from cairn.errors import PolicyViolation
from tests.conftest import LiveServer
from tests.functional import run_cli, run_mlflow_script

SCRIPT = Path(__file__).parent / "mlflow_scripts" / "pyfunc_promotion.py"


class _Call:
    """Pickling this writes a call to ``func(*args)``; nothing here ever unpickles it."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (self.func, self.args)


def _text(value: str) -> bytes:
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _global(module: str, name: str) -> bytes:
    return _text(module) + _text(name) + b"\x93"  # STACK_GLOBAL


def _by_value(source: str, name: str) -> bytes:
    """A function cloudpickle ships by value (defined in ``__main__``), never called."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), namespace)  # defines a function; calls nothing
    pickled: bytes = cloudpickle.dumps(namespace[name])
    return pickled


def _load_time_call() -> bytes:
    """cloudpickle's _make_function builds a function from a code object, and the pickle calls
    it at once (REDUCE on the built function): code by value run while loading."""
    code = _by_value("def f():\n    return 1\n", "f")
    body = code[2:-1]  # the function, without PROTO and STOP
    return b"\x80\x04" + body + b")R."  # EMPTY_TUPLE, REDUCE: call it


# One pickle per blocking kind, and the words its finding names.
BLOCKING: dict[str, tuple[bytes, str]] = {
    "os-system": (pickle.dumps(_Call(os.system, "id"), protocol=4), "system"),
    "posix-system": (b"\x80\x04" + _global("posix", "system") + _text("id") + b"\x85R.", "posix"),
    "subprocess": (pickle.dumps(_Call(subprocess.check_output, ["id"]), protocol=2), "subprocess"),
    "eval": (pickle.dumps(_Call(eval, "1+1"), protocol=4), "eval"),
    "exec": (pickle.dumps(_Call(exec, "x=1"), protocol=4), "exec"),
    "compile": (pickle.dumps(_Call(compile, "1", "f", "eval"), protocol=4), "compile"),
    "import": (pickle.dumps(_Call(__import__, "os"), protocol=4), "__import__"),
    "getattr": (pickle.dumps(_Call(getattr, str, "join"), protocol=4), "getattr"),
    "socket": (b"\x80\x04" + _global("socket", "create_connection") + b")R.", "socket"),
    "open-write": (pickle.dumps(_Call(open, "/tmp/x", "w"), protocol=4), "open"),
    "io-open": (b"\x80\x04" + _global("io", "open") + _text("/tmp/x") + b"\x85R.", "io open"),
    "shutil": (b"\x80\x04" + _global("shutil", "rmtree") + _text("/") + b"\x85R.", "shutil"),
    "os-remove": (b"\x80\x04" + _global("os", "remove") + _text("/x") + b"\x85R.", "remove"),
    "pty": (b"\x80\x04" + _global("pty", "spawn") + _text("/bin/sh") + b"\x85R.", "pty"),
    "runpy": (b"\x80\x04" + _global("runpy", "run_path") + _text("/x") + b"\x85R.", "runpy"),
    "importlib": (
        b"\x80\x04" + _global("importlib", "import_module") + _text("os") + b"\x85R.",
        "importlib",
    ),
    "by-value-system": (
        _by_value("import os\ndef f():\n    return os.system('id')\n", "f"),
        "uses system",
    ),
    "by-value-subprocess": (
        _by_value("import subprocess\ndef f():\n    return subprocess.run(['id'])\n", "f"),
        "subprocess",
    ),
    "by-value-load-time-call": (_load_time_call(), "not an imported global"),
    "subimport-socket": (
        b"\x80\x04" + _global("cloudpickle.cloudpickle", "subimport") + _text("socket") + b"\x85R.",
        "socket",
    ),
}


def _push(server: LiveServer, model: str, folder: Path) -> int:
    result = run_cli(server.url, "--json", "push", model, str(folder), "--no-provenance")
    assert result.returncode == 0, result.stderr
    number: int = json.loads(result.stdout)["number"]
    return number


def test_a_pickle_of_each_blocking_kind_is_refused_at_promotion(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with Client(live_server.url, live_server.token, progress=False) as client:
        for kind, (data, words) in BLOCKING.items():
            folder = tmp_path / kind
            folder.mkdir()
            (folder / "model.pkl").write_bytes(data)
            ref = f"default/evil-{kind}:{_push(live_server, f'default/evil-{kind}', folder)}"
            with pytest.raises(PolicyViolation) as refused:
                client.promote(ref, "staging")
            decision = refused.value.details["decision"]
            (scan,) = [c for c in decision["checks"] if c["check"] == "scan"]
            assert not scan["passed"], kind
            assert "the scan is flagged: model.pkl: " in scan["reason"], (kind, scan)
            assert words in scan["reason"], (kind, scan["reason"])
            assert client.get(ref, files=False).state == "registered"


def test_code_by_value_that_is_not_called_while_loading_is_a_warning(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    source = "import os\ndef f(x):\n    return os.path.join('a', str(x))\n"
    (folder / "model.pkl").write_bytes(_by_value(source, "f"))
    number = _push(live_server, "default/joiner", folder)
    with Client(live_server.url, live_server.token, progress=False) as client:
        (scan,) = [v for v in client.validations(f"joiner:{number}") if v.name == "scan"]
        assert scan.status == "warnings"
        kinds = {(f["kind"], f["severity"]) for f in scan.details["findings"]}
        assert kinds == {("code_by_value", "warning")}
        assert client.promote(f"joiner:{number}", "staging").applied


def _run_script(server: LiveServer, work: Path) -> dict[str, Any]:
    work.mkdir()
    return run_mlflow_script(SCRIPT, server.url, server.token, cwd=work)


def test_a_cloudpickled_pyfunc_reaches_production_under_the_default_policy(
    live_server: LiveServer, tmp_path: Path
) -> None:
    report = _run_script(live_server, tmp_path / "client")
    with Client(live_server.url, live_server.token, progress=False) as client:
        # The second version of the same model, through Cairn's own promote.
        assert client.promote("echo:2", "staging").applied
        assert client.promote("echo:2", "production").applied
        echo = {v.name: v for v in client.validations("echo:2")}
    assert report["echo_stage"] == "Production"
    assert report["predict"] == [3, 6]
    assert echo["scan"].status == "warnings"
    assert {f["kind"] for f in echo["scan"].details["findings"]} <= {
        "code_by_value",
        "unknown_global",
    }
    code, message = report["shell_refused"]
    assert code == "INVALID_STATE"
    assert "python_model.pkl" in message and "uses system" in message, message
    assert report["shell_stage"] == "None"


def _findings(client: Client, ref: str) -> tuple[str, list[dict[str, Any]]]:
    scans = [v for v in client.validations(ref) if v.name == "scan" and v.created_by == "cairn"]
    return scans[-1].status, scans[-1].details["findings"]


def test_an_approver_waives_a_finding_on_one_version_with_a_reason_audited(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    for n in (1, 2):
        folder = tmp_path / f"v{n}"
        folder.mkdir()
        (folder / "model.pkl").write_bytes(BLOCKING["os-system"][0])
        (folder / "notes.txt").write_text(f"version {n}\n")
        assert _push(live_server, "default/waived", folder) == n
    assert run_cli(url, "user", "add", "carol", "--role", "default=approver").returncode == 0
    made = run_cli(url, "--json", "token", "create", "t", "--for", "carol", "--days", "1")
    carol = json.loads(made.stdout)["secret"]
    with Client(url, live_server.token, progress=False) as admin:
        status, findings = _findings(admin, "waived:1")
        assert status == "flagged" and findings
        ids = [f["id"] for f in findings if f["severity"] == "blocking"]
        # The version's author does not waive its findings, and a finding must exist.
        own = run_cli(url, "waive", "waived:1", ids[0], "--reason", "mine")
        assert own.returncode == 5 and "author" in own.stderr, own.stderr
        missing = run_cli(url, "waive", "waived:1", "0" * 16, "--reason", "x", token=carol)
        assert missing.returncode == 3, missing.stderr
        for finding in ids:
            done = run_cli(url, "waive", "waived:1", finding, "--reason", "our loader", token=carol)
            assert done.returncode == 0, done.stderr
        assert "the scan is now clean" in done.stdout
        status, findings = _findings(admin, "waived:1")
        assert status == "clean"
        assert {f["waived"]["by"] for f in findings if f["id"] in ids} == {"carol"}
        assert admin.promote("waived:1", "staging").applied
        # Another version of the same bytes is not waived: still refused.
        with pytest.raises(PolicyViolation):
            admin.promote("waived:2", "staging")
        # A new scan of the version keeps its waivers.
        assert admin.rerun_validation("waived:1", "scan").status == "clean"
    shown = run_cli(url, "show", "waived:1").stdout
    assert "WAIVED by carol: our loader" in shown, shown
    version = json.loads(run_cli(url, "--json", "show", "waived:1").stdout)
    assert [(w["id"], w["by"], w["reason"]) for w in version["waivers"]] == [
        (f, "carol", "our loader") for f in ids
    ]
    other = json.loads(run_cli(url, "--json", "show", "waived:2").stdout)
    assert other["waivers"] == [] and other["validations"]["scan"] == "flagged"
    entries = json.loads(
        run_cli(url, "--json", "audit", "log", "default/waived:1", "--action", "scan.waive").stdout
    )
    assert [(e["actor"], e["payload"]["finding"]) for e in entries] == [("carol", f) for f in ids]
    assert all(e["payload"]["reason"] == "our loader" for e in entries)


def test_a_waiver_lets_warnings_through_a_policy_that_does_not_accept_them(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    source = "def f(x):\n    return x + 1\n"
    (folder / "model.pkl").write_bytes(_by_value(source, "f"))
    number = _push(live_server, "default/strict", folder)
    strict = {"states": {"staging": {"require_clean_scan": True}}}
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(strict))
    assert run_cli(live_server.url, "policy", "set", "default", str(policy)).returncode == 0
    assert (
        run_cli(live_server.url, "user", "add", "dan", "--role", "default=approver").returncode == 0
    )
    made = run_cli(live_server.url, "--json", "token", "create", "t", "--for", "dan", "--days", "1")
    dan = Client(live_server.url, json.loads(made.stdout)["secret"], progress=False)
    with Client(live_server.url, live_server.token, progress=False) as admin, dan:
        with pytest.raises(PolicyViolation):
            admin.promote(f"strict:{number}", "staging")
        status, findings = _findings(admin, f"strict:{number}")
        assert status == "warnings"
        for f in findings:
            scan = dan.waive(f"strict:{number}", f["id"], "a plain function")
        assert scan.status == "clean"
        assert admin.promote(f"strict:{number}", "staging").applied
