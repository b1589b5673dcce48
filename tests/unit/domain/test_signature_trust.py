"""A certificate chain leads to a trusted authority only through certificates allowed to
issue: a CA whose path length allows the CAs below it, whose key usage (if stated) includes
signing certificates; as OpenSSL (and so model_signing's verifier) judges a chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cairn.domain.signature_trust import (
    ChainRejected,
    TrustedCertificate,
    chain_signer,
    trusted,
)

Issuer = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _cert(
    name: str, issuer: Issuer | None, *, ca: bool, path: int | None = None, cert_sign: bool = True
) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca and cert_sign,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path if ca else None), True)
        .add_extension(usage, critical=True)
        .sign(issuer[1] if issuer else key, hashes.SHA256())
    )
    return built, key


def _der(*certs: Issuer) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c, _ in certs]


def _root(cert: Issuer) -> list[TrustedCertificate]:
    found = trusted(cert[0].public_bytes(serialization.Encoding.PEM))
    assert isinstance(found, TrustedCertificate)
    return [found]


@pytest.mark.parametrize(("path", "accepted"), [(None, True), (1, True), (0, False)])
def test_a_root_s_path_length_bounds_the_cas_under_it(path: int | None, accepted: bool) -> None:
    root = _cert("root", None, ca=True, path=path)
    middle = _cert("middle", root, ca=True)
    leaf = _cert("leaf", middle, ca=False)
    if accepted:
        assert chain_signer(_der(leaf, middle), _root(root))
    else:
        with pytest.raises(ChainRejected):
            chain_signer(_der(leaf, middle), _root(root))


def test_a_ca_whose_key_may_not_sign_certificates_issues_nothing() -> None:
    root = _cert("root", None, ca=True)
    middle = _cert("middle", root, ca=True, cert_sign=False)
    leaf = _cert("leaf", middle, ca=False)
    with pytest.raises(ChainRejected):
        chain_signer(_der(leaf, middle), _root(root))
    direct = _cert("direct", root, ca=False)
    assert chain_signer(_der(direct), _root(root))
