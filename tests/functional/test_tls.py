"""HTTPS served by ``cairn server`` itself: a certificate signed by a private authority (made
here with ``cryptography``), the SDK and the CLI trusting that authority, plain HTTP refused,
and a server that will not start on half a TLS configuration."""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cairn.client import Client
from tests.conftest import DATA_DIR, LiveServer, free_port, start_live_server
from tests.functional import run_cli, tree_digests, write_random

PASSWORD = "correct horse"


@dataclass
class Pki:
    authority: Path  # the CA's certificate: what clients trust
    cert: Path  # the server's certificate, for 127.0.0.1 and localhost
    key: Path  # its key, encrypted with PASSWORD
    other_key: Path  # a key of no certificate here, unencrypted


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def make_pki(folder: Path) -> Pki:
    folder.mkdir()
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Cairn test authority"))
        .issuer_name(_name("Cairn test authority"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem", folder / "x.pem")
    pki.authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(_pem(key, PASSWORD))
    pki.other_key.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    return pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def https_server(tmp_path: Path, pki: Pki) -> Iterator[LiveServer]:
    server = start_live_server(
        tmp_path,
        ca_bundle=pki.authority,
        CAIRN_TLS_CERT_FILE=str(pki.cert),
        CAIRN_TLS_KEY_FILE=str(pki.key),
        CAIRN_TLS_KEY_PASSWORD=PASSWORD,
    )
    yield server
    server.stop()


def test_push_and_pull_over_https_with_the_authority_trusted(
    https_server: LiveServer, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert https_server.url.startswith("https://")
    source = tmp_path / "model"
    write_random(source / "weights.bin", 3 * 2**20 + 5)
    (source / "config.json").write_text('{"layers": 2}\n')
    token = https_server.token

    # The SDK, told which authority to trust.
    sdk = Client(
        https_server.url, token, ca_bundle=pki.authority, progress=False, cache_dir=tmp_path / "c"
    )
    with sdk:
        sdk.create_namespace("risk")
        pushed = sdk.push("risk/fraud", source)
        sdk.pull("risk/fraud:1", tmp_path / "pulled-sdk")
    assert pushed.number == 1
    assert tree_digests(tmp_path / "pulled-sdk") == tree_digests(source)

    # The CLI, with --ca-bundle, and with the standard SSL_CERT_FILE instead.
    cli = run_cli(
        https_server.url,
        "--ca-bundle",
        str(pki.authority),
        "push",
        "risk/fraud",
        str(source),
        token=token,
        cache_dir=tmp_path / "c",
    )
    assert cli.returncode == 0, cli.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.authority))
    pulled = tmp_path / "pulled-cli"
    cli = run_cli(
        https_server.url,
        "pull",
        "risk/fraud:2",
        str(pulled),
        token=token,
        cache_dir=pulled.parent / "c2",
    )
    assert cli.returncode == 0, cli.stderr
    assert tree_digests(tmp_path / "pulled-cli") == tree_digests(source)


def test_an_untrusted_certificate_and_plain_http_are_refused(
    https_server: LiveServer, tmp_path: Path
) -> None:
    token = https_server.token
    # Not told about the authority: the SDK refuses the server's certificate, sends nothing.
    with (
        Client(https_server.url, token, progress=False) as sdk,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        sdk.namespaces()
    cli = run_cli(https_server.url, "ls", token=token)
    assert cli.returncode == 7
    assert "CERTIFICATE_VERIFY_FAILED" in cli.stderr

    # Plain HTTP to the same port gets no answer a client could take for the API's.
    plain = https_server.url.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(plain + "/api/v1/namespaces", headers=https_server.headers, timeout=5)


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``cairn server`` with these settings, expected to refuse to start."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    full.update(CAIRN_DATA_DIR=str(tmp_path / DATA_DIR), CAIRN_PORT=str(free_port()), **env)
    return subprocess.run(
        [sys.executable, "-m", "cairn", "server"],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("settings", "named", "says"),
    [
        ({"CAIRN_TLS_CERT_FILE": "cert"}, "CAIRN_TLS_KEY_FILE", "set both, or neither"),
        ({"CAIRN_TLS_KEY_FILE": "key"}, "CAIRN_TLS_CERT_FILE", "set both, or neither"),
        ({"CAIRN_TLS_KEY_PASSWORD": PASSWORD}, "CAIRN_TLS_KEY_PASSWORD", "are not"),
        (
            {"CAIRN_TLS_CERT_FILE": "cert", "CAIRN_TLS_KEY_FILE": "missing"},
            "CAIRN_TLS_KEY_FILE",
            "cannot read",
        ),
        (
            {"CAIRN_TLS_CERT_FILE": "missing", "CAIRN_TLS_KEY_FILE": "key"},
            "CAIRN_TLS_CERT_FILE",
            "cannot read",
        ),
        (
            {"CAIRN_TLS_CERT_FILE": "key", "CAIRN_TLS_KEY_FILE": "key"},
            "CAIRN_TLS_CERT_FILE",
            "no PEM certificate",
        ),
        (
            {"CAIRN_TLS_CERT_FILE": "cert", "CAIRN_TLS_KEY_FILE": "key"},
            "CAIRN_TLS_KEY_PASSWORD",
            "encrypted",
        ),
        (
            {
                "CAIRN_TLS_CERT_FILE": "cert",
                "CAIRN_TLS_KEY_FILE": "key",
                "CAIRN_TLS_KEY_PASSWORD": "wrong",
            },
            "CAIRN_TLS_KEY_PASSWORD",
            "cannot load",
        ),
        (
            {"CAIRN_TLS_CERT_FILE": "cert", "CAIRN_TLS_KEY_FILE": "other"},
            "CAIRN_TLS_KEY_FILE",
            "is not the key of the certificate",
        ),
    ],
)
def test_the_server_refuses_to_start_on_a_wrong_tls_setting(
    tmp_path: Path, pki: Pki, settings: dict[str, str], named: str, says: str
) -> None:
    files = {"cert": pki.cert, "key": pki.key, "other": pki.other_key}
    env = {
        k: str(files.get(v, tmp_path / v)) if k != "CAIRN_TLS_KEY_PASSWORD" else v
        for k, v in settings.items()
    }
    started = _start(tmp_path, **env)
    assert started.returncode == 1, started.stdout
    assert f"Error: {named}: " in started.stderr and says in started.stderr, started.stderr
    assert "Traceback" not in started.stderr


def test_the_pages_session_cookie_is_secure_over_https(https_server: LiveServer) -> None:
    """Signed in over HTTPS, the session cookie is marked Secure (never sent over plain
    HTTP), as well as HttpOnly and SameSite=Strict."""
    trust = ssl.create_default_context(cafile=https_server.ca_bundle)
    with httpx.Client(base_url=https_server.url, verify=trust) as browser:
        form = browser.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        signed_in = browser.post(
            "/sign-in", data={"csrf": csrf.group(1), "token": https_server.token, "next": "/"}
        )
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.headers["set-cookie"].lower()
    assert cookie.startswith("cairn_session=")
    assert "; secure" in cookie and "; httponly" in cookie and "samesite=strict" in cookie
