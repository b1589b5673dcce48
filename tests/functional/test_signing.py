"""Signed models end to end: ``cairn push --sign``, the server's check against the namespace's
keys, ``cairn pull``'s check, and the ``model_signing`` command both ways."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tests.conftest import LiveServer, start_live_server
from tests.functional import run_cli

API = "/api/v1"
MODEL_SIGNING = str(Path(sys.executable).with_name("model_signing"))


def _keypair(folder: Path, name: str, curve: ec.EllipticCurve) -> tuple[Path, Path]:
    key = ec.generate_private_key(curve)
    private = folder / f"{name}.pem"
    public = folder / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    return {
        "release": _keypair(tmp_path, "release", ec.SECP256R1()),
        "other": _keypair(tmp_path, "other", ec.SECP384R1()),
    }


@pytest.fixture
def server(tmp_path: Path, keys: dict[str, tuple[Path, Path]]) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
    added = run_cli(live.url, "keys", "add", "default", "release", str(keys["release"][1]))
    assert added.returncode == 0, added.stderr
    yield live
    live.stop()


def _model(folder: Path) -> Path:
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "layer.bin").write_bytes(b"\x01\x02" * 5000)
    (folder / "config.json").write_text('{"layers": 2}\n')
    return folder


def _push(url: str, folder: Path, *extra: str) -> tuple[int, Any, str]:
    result = run_cli(url, "--json", "push", "default/fraud", str(folder), "--no-provenance", *extra)
    body = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, body, result.stderr + result.stdout  # --json: errors on stdout


def _signature_check(server: LiveServer, number: int) -> dict[str, Any]:
    base = f"{server.url}{API}/models/default/fraud/versions/{number}"
    version = httpx.get(base, params={"files": "false"}, headers=server.headers).json()
    history = httpx.get(base + "/validations", headers=server.headers).json()["items"]
    check: dict[str, Any] = [v for v in history if v["name"] == "signature"][-1]
    assert version["validations"]["signature"] == check["status"]  # the summary agrees
    return check


def _model_signing(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODEL_SIGNING, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _sign_with_model_signing(folder: Path, private: Path) -> subprocess.CompletedProcess[str]:
    signature = str(folder / "model.sig")
    return _model_signing(
        "sign", "key", str(folder), "--private_key", str(private), "--signature", signature
    )


def test_cairn_signs_the_server_verifies_and_model_signing_agrees(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    private, public = keys["release"]
    folder = _model(tmp_path / "model")
    code, version, err = _push(server.url, folder, "--sign", str(private))
    assert code == 0, err
    assert not (folder / "model.sig").exists()  # the pushed folder is left as it was
    check = _signature_check(server, version["number"])
    fingerprint = json.loads(run_cli(server.url, "--json", "keys", "list", "default").stdout)[0][
        "fingerprint"
    ]
    assert (check["status"], check["details"]["signer"]) == ("verified", fingerprint)
    dest = tmp_path / "pulled"
    pulled = run_cli(
        server.url, "--json", "pull", "default/fraud:1", str(dest), "--key", str(public)
    )
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["signature_check"]["status"] == "verified"
    verified = _model_signing(
        "verify",
        "key",
        str(dest),
        "--signature",
        str(dest / "model.sig"),
        "--public_key",
        str(public),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_model_signing_signature_is_accepted(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    private, _ = keys["release"]
    folder = _model(tmp_path / "model")
    signed = _model_signing(
        "sign",
        "key",
        str(folder),
        "--private_key",
        str(private),
        "--signature",
        str(folder / "model.sig"),
    )
    assert signed.returncode == 0, signed.stdout + signed.stderr
    code, version, err = _push(server.url, folder)
    assert code == 0, err
    assert _signature_check(server, version["number"])["status"] == "verified"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("changed", "file_changed"),
        ("added", "file_added"),
        ("removed", "file_missing"),
    ],
)
def test_files_changed_after_signing_fail_on_the_server_and_on_pull(
    server: LiveServer,
    keys: dict[str, tuple[Path, Path]],
    tmp_path: Path,
    change: str,
    reason: str,
) -> None:
    private, _ = keys["release"]
    folder = _model(tmp_path / "model")
    signed = _model_signing(
        "sign",
        "key",
        str(folder),
        "--private_key",
        str(private),
        "--signature",
        str(folder / "model.sig"),
    )
    assert signed.returncode == 0, signed.stderr
    if change == "changed":
        (folder / "config.json").write_text('{"layers": 3}\n')
    elif change == "added":
        (folder / "extra.py").write_text("print('hello')\n")
    else:
        (folder / "weights" / "layer.bin").unlink()
    code, version, err = _push(server.url, folder)
    assert code == 0, err  # the namespace does not require signatures: recorded, not refused
    check = _signature_check(server, version["number"])
    assert (check["status"], check["details"]["reason"]) == ("failed", reason)
    # The server's failed check blocks the pull (exit 6), --require-signature or not.
    for extra in ((), ("--require-signature",)):
        refused = run_cli(server.url, "pull", version["ref"], str(tmp_path / "out"), *extra)
        assert refused.returncode == 6 and "version_blocked" in refused.stderr, refused.stderr
        assert not (tmp_path / "out").exists()
    # With the namespace requiring signatures, the same push is refused and writes nothing.
    assert run_cli(server.url, "namespace", "require-signature", "default").returncode == 0
    code, _, err = _push(server.url, folder)
    assert code == 6 and "signature_rejected" in err
    listed = httpx.get(
        f"{server.url}{API}/models/default/fraud/versions", headers=server.headers
    ).json()["items"]
    assert [v["number"] for v in listed] == [version["number"]]


def test_a_wrong_key_fails_with_a_clear_message(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    folder = _model(tmp_path / "model")
    code, version, err = _push(server.url, folder, "--sign", str(keys["other"][0]))
    assert code == 0, err
    check = _signature_check(server, version["number"])
    assert check["status"] == "failed"
    assert check["details"]["reason"] == "no_trusted_key"
    assert "trusted" in check["details"]["message"]
    pulled = run_cli(
        server.url,
        "pull",
        "default/fraud:1",
        str(tmp_path / "out"),
        "--key",
        str(keys["release"][1]),
    )
    # A signature that failed is a failed check: the pull exits 6 and writes nothing.
    assert pulled.returncode == 6 and "version_blocked" in pulled.stderr, pulled.stderr
    assert "signature" in pulled.stderr and not (tmp_path / "out").exists()


def test_keys_are_vetted_when_added(server: LiveServer, tmp_path: Path) -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path = tmp_path / "ed.pub"
    path.write_bytes(pem)
    refused = run_cli(server.url, "keys", "add", "default", "ed", str(path))
    assert refused.returncode == 2 and "ECDSA" in refused.stderr
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key")
    assert run_cli(server.url, "keys", "add", "default", "g", str(garbage)).returncode == 2


def test_a_key_that_is_not_ascii_is_refused_not_a_crash(server: LiveServer) -> None:
    """Found by the fuzz: PEM is ASCII, and a key in other characters was a 500."""
    url = f"{server.url}/api/v1/namespaces/default/keys"
    for text in ["µ", "-----BEGIN PUBLIC KEY-----\nÝ\n-----END PUBLIC KEY-----\n", "\U000ebdcd"]:
        answer = httpx.post(url, json={"name": "k", "public_key": text}, headers=server.headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_input"
    names = [k["name"] for k in httpx.get(url, headers=server.headers).json()["items"]]
    assert "k" not in names


def test_pull_with_a_key_verifies_or_refuses_and_writes_nothing(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    release, other = keys["release"][1], keys["other"][1]
    code, signed, err = _push(
        server.url, _model(tmp_path / "signed"), "--sign", str(keys["release"][0])
    )
    assert code == 0 and _signature_check(server, signed["number"])["status"] == "verified", err
    code, unsigned, err = _push(server.url, _model(tmp_path / "unsigned"))
    assert code == 0, err

    def pull(ref: str, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli(server.url, "pull", ref, str(tmp_path / out), *extra)

    # A key the signer did not use: refused, exit 6, nothing written.
    wrong = pull(signed["ref"], "wrong", "--key", str(other))
    assert wrong.returncode == 6, wrong.stderr
    assert "does not verify" in wrong.stderr and "not trusted" in wrong.stderr, wrong.stderr
    assert not (tmp_path / "wrong").exists()
    right = pull(signed["ref"], "right", "--key", str(release))
    assert right.returncode == 0 and "signature verified" in right.stdout, right.stderr
    assert (tmp_path / "right" / "config.json").exists()

    # An unsigned version when a signature is asked for: refused unless taken knowingly.
    for asked in (("--key", str(release)), ("--require-signature",)):
        refused = pull(unsigned["ref"], "refused", *asked)
        assert refused.returncode == 6 and "signature_rejected" in refused.stderr, refused.stderr
        assert "--allow-unsigned" in refused.stderr
        assert not (tmp_path / "refused").exists()
        taken = pull(unsigned["ref"], "taken", *asked, "--allow-unsigned")
        assert taken.returncode == 0 and "unsigned" in taken.stdout, taken.stderr
        assert (tmp_path / "taken" / "config.json").exists()
    # Without a key or a rule, an unsigned version is pulled as before.
    assert pull(unsigned["ref"], "plain").returncode == 0


def test_show_says_who_signed_and_what_it_was_checked_against(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    folder = _model(tmp_path / "signed")
    code, signed, err = _push(server.url, folder, "--sign", str(keys["release"][0]))
    assert code == 0, err
    code, stranger, err = _push(
        server.url, _model(tmp_path / "other"), "--sign", str(keys["other"][0])
    )
    assert code == 0, err
    signature = _signature_check(server, signed["number"])
    assert signature["status"] == "verified" and signature["details"]["key"] == "release"
    assert signature["details"]["checked_against"] == {"namespace": "default", "keys": ["release"]}
    assert signature["details"]["signer"].startswith("sha256:")
    text = run_cli(server.url, "show", signed["ref"]).stdout
    assert "signature verified: signed with key release (sha256:" in text, text
    assert "against namespace default's keys (release)" in text, text
    failed = run_cli(server.url, "show", stranger["ref"])
    assert "signature FAILED: no_trusted_key: signed by a key that is not trusted" in failed.stdout


def _certificate(
    folder: Path,
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )  # fmt: skip
    certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (folder / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


def test_a_signature_made_with_a_certificate_verifies_against_a_trusted_authority(
    server: LiveServer, tmp_path: Path
) -> None:
    """model_signing's certificate method: the chain is checked offline, up to the certificate
    authority the namespace (or pull --key) trusts."""
    authority_key, stranger_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    authority = _certificate(tmp_path, "corp-ca", authority_key, None, ca=True)
    _certificate(tmp_path, "other-ca", stranger_key, None, ca=True)
    signer_private, _ = _keypair(tmp_path, "signer", ec.SECP256R1())
    signer_key = serialization.load_pem_private_key(signer_private.read_bytes(), None)
    assert isinstance(signer_key, ec.EllipticCurvePrivateKey)
    _certificate(tmp_path, "signer", signer_key, (authority, authority_key), ca=False)
    folder = _model(tmp_path / "model")
    signed = _model_signing(
        "sign", "certificate", str(folder), "--private_key", str(signer_private),
        "--signing_certificate", str(tmp_path / "signer.crt"),
        "--certificate_chain", str(tmp_path / "corp-ca.crt"),
        "--signature", str(folder / "model.sig"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    added = run_cli(server.url, "keys", "add", "default", "corp-ca", str(tmp_path / "corp-ca.crt"))
    assert added.returncode == 0, added.stderr
    code, version, err = _push(server.url, folder)
    assert code == 0, err
    check = _signature_check(server, version["number"])
    assert check["status"] == "verified", check
    assert check["details"]["key"] == "corp-ca"
    assert check["details"]["certificate_authority"].startswith("sha256:")
    right = run_cli(
        server.url,
        "pull",
        version["ref"],
        str(tmp_path / "ok"),
        "--key",
        str(tmp_path / "corp-ca.crt"),
    )
    assert right.returncode == 0 and "signature verified" in right.stdout, right.stderr
    wrong = run_cli(
        server.url,
        "pull",
        version["ref"],
        str(tmp_path / "no"),
        "--key",
        str(tmp_path / "other-ca.crt"),
    )
    assert wrong.returncode == 6 and "trusted certificate" in wrong.stderr, wrong.stderr
    assert not (tmp_path / "no").exists()


def _sign_sharded(folder: Path, private: Path, shard_size: int) -> None:
    """model_signing's sharded method (its library: the command has no option for it)."""
    import model_signing

    hashing = (
        model_signing.hashing.Config()
        .use_shard_serialization(shard_size=shard_size)
        .set_ignored_paths(paths=["model.sig"])
    )
    model_signing.signing.Config().use_elliptic_key_signer(private_key=private).set_hashing_config(
        hashing
    ).sign(folder, folder / "model.sig")


def test_a_sharded_signature_is_checked_against_the_bytes(
    server: LiveServer, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    private, public = keys["release"]
    folder = _model(tmp_path / "model")  # a 10,000-byte file: ten shards of 1,000
    _sign_sharded(folder, private, 1000)
    payload = json.loads((folder / "model.sig").read_text())["dsseEnvelope"]["payload"]
    statement = json.loads(base64.b64decode(payload))
    assert statement["predicate"]["serialization"]["method"] == "shards"
    code, version, err = _push(server.url, folder)
    assert code == 0, err
    assert _signature_check(server, version["number"])["status"] == "verified"
    pulled = run_cli(
        server.url, "pull", version["ref"], str(tmp_path / "out"), "--key", str(public)
    )
    assert pulled.returncode == 0 and "signature verified" in pulled.stdout, pulled.stderr
    # One byte changed in one shard after signing: the server finds it.
    layer = folder / "weights" / "layer.bin"
    data = bytearray(layer.read_bytes())
    data[4321] ^= 1
    layer.write_bytes(bytes(data))
    code, changed, err = _push(server.url, folder)
    assert code == 0, err
    check = _signature_check(server, changed["number"])
    assert (check["status"], check["details"]["reason"]) == ("failed", "file_changed")
    assert "weights/layer.bin" in check["details"]["message"]
