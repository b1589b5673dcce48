"""HTTPS for ``cairn server``: the certificate and key settings, checked before the server
starts, so a missing, unreadable or mismatched file stops it with the name of the setting
rather than failing in each worker (or, worse, at the first connection)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cairn.config import Settings
from cairn.errors import ConfigError

CERT = "CAIRN_TLS_CERT_FILE"
KEY = "CAIRN_TLS_KEY_FILE"
PASSWORD = "CAIRN_TLS_KEY_PASSWORD"  # noqa: S105 (the setting's name)


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's ``ssl_*`` options for the settings (none: plain HTTP), after checking that
    the certificate and key load and belong together; ``ConfigError`` names what is wrong."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    secret = settings.tls_key_password
    password = secret.get_secret_value() if secret is not None else None
    if cert is None and key is None:
        if password is not None:
            raise _wrong(PASSWORD, f"is set, but {CERT} and {KEY} are not")
        return {}
    if cert is None or key is None:
        missing, given = (CERT, KEY) if cert is None else (KEY, CERT)
        raise _wrong(missing, f"HTTPS needs it with {given}: set both, or neither")
    _check_certificate(_read(CERT, cert))
    _check_key(_read(KEY, key), password)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password)
    except ssl.SSLError as exc:
        raise _wrong(KEY, f"{key} is not the key of the certificate in {cert} ({exc})") from exc
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "ssl_keyfile_password": password}


def _read(setting: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _wrong(setting, f"cannot read {path}: {exc.strerror or exc}") from exc


def _check_certificate(pem: bytes) -> None:
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise _wrong(CERT, f"holds no PEM certificate ({exc})") from exc


def _check_key(pem: bytes, password: str | None) -> None:
    try:
        serialization.load_pem_private_key(pem, password.encode() if password is not None else None)
    except TypeError as exc:  # a password given for a plain key, or none for an encrypted one
        raise _wrong(PASSWORD, str(exc)) from exc
    except ValueError as exc:
        wrong = PASSWORD if password is not None and b"ENCRYPTED" in pem else KEY
        raise _wrong(wrong, f"cannot load the private key of {KEY} ({exc})") from exc


def _wrong(setting: str, why: str) -> ConfigError:
    return ConfigError(f"{setting}: {why}", setting=setting)
