"""What a signature may be trusted through: a public key, or a certificate authority.

``model-signing`` signs with a key (the bundle names the key by a hint) or with a certificate
(the bundle carries ``x509CertificateChain``: the signing certificate first, then the chain
the signer chose to include). A namespace, or ``cairn pull --key``, trusts either:

- a **public key** (PEM ``PUBLIC KEY``): a signature made with that key;
- a **certificate** (PEM ``CERTIFICATE``, usually a CA's): a signature made with the key of a
  signing certificate that chains up to it, checked offline as ``model_signing``'s verifier
  does: each certificate issued (name and signature) by the next, every one valid when the
  signing certificate was issued, the issuers marked as CAs (within their path length, and
  allowed to sign certificates where their key usage says), and the signing certificate
  allowed to sign (key usage ``digitalSignature`` or extended key usage code signing). No
  revocation list or transparency log is consulted: there is none offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from cairn.errors import InvalidInput

CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}
CHAIN_MAX = 10


@dataclass(frozen=True, slots=True)
class TrustedKey:
    public_key: ec.EllipticCurvePublicKey
    fingerprint: str  # sha256 of the DER SubjectPublicKeyInfo: what Cairn records as the signer
    hint: str  # sha256 of the PEM form: what model_signing writes into the bundle


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    certificate: x509.Certificate
    fingerprint: str  # sha256 of the certificate's DER


class ChainRejected(Exception):
    """The certificate chain does not lead to a trusted certificate; the message says why."""


def trusted(material: bytes | str) -> TrustedKey | TrustedCertificate:
    """A public key or a certificate a namespace may trust; ``InvalidInput`` if neither."""
    if isinstance(material, str) and not material.isascii():
        raise InvalidInput("a trusted signing key must be a public key in PEM form (ASCII)")
    pem = material.encode("ascii") if isinstance(material, str) else material
    if b"-----BEGIN CERTIFICATE-----" in pem:
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise InvalidInput("the trusted certificate is not a PEM certificate") from exc
        return TrustedCertificate(certificate, _cert_fingerprint(certificate))
    return trusted_key(pem)


def trusted_key(public_key_pem: bytes | str) -> TrustedKey:
    """Load a public key a namespace may trust; raise ``InvalidInput`` if it cannot sign here."""
    if isinstance(public_key_pem, str) and not public_key_pem.isascii():
        raise InvalidInput("a trusted signing key must be a public key in PEM form (ASCII)")
    pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(
            "a trusted signing key must be a public key or a certificate in PEM form"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVE_HASHES:
        raise InvalidInput(
            "model-signing keys are ECDSA on P-256, P-384 or P-521",
            key_type=type(key).__name__,
        )
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    canonical_pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TrustedKey(
        public_key=key,
        fingerprint=f"sha256:{hashlib.sha256(der).hexdigest()}",
        hint=hashlib.sha256(canonical_pem).hexdigest(),
    )


def chain_signer(
    chain_der: Sequence[bytes], roots: Sequence[TrustedCertificate]
) -> tuple[ec.EllipticCurvePublicKey, str, str]:
    """The signing certificate's key, its fingerprint and the fingerprint of the trusted
    certificate it chains to; ``ChainRejected`` says why not."""
    if not roots:
        raise ChainRejected("no certificate is trusted here")
    if not 1 <= len(chain_der) <= CHAIN_MAX:
        raise ChainRejected(f"a certificate chain holds 1 to {CHAIN_MAX} certificates")
    try:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        raise ChainRejected("a certificate in the chain is not DER") from exc
    leaf = chain[0]
    at = leaf.not_valid_before_utc
    _may_sign(leaf)
    current = leaf
    for below in range(CHAIN_MAX + 1):  # the CA certificates between the issuer and the leaf
        _valid_at(current, at)
        anchor = next((r for r in roots if r.certificate == current), None)
        if anchor is not None:
            return _ec_key(leaf), _cert_fingerprint(leaf), anchor.fingerprint
        issuer = _issuer(current, [*chain[1:], *(r.certificate for r in roots)], below)
        if issuer is None:
            issued_by = current.issuer.rfc4514_string()[:200]
            raise ChainRejected(f"the chain does not lead to a trusted certificate ({issued_by})")
        current = issuer
    raise ChainRejected("the certificate chain is too long")


def _issuer(
    cert: x509.Certificate, candidates: list[x509.Certificate], below: int
) -> x509.Certificate | None:
    """The candidate that issued ``cert``: a CA (as OpenSSL asks: its path length allows the
    ``below`` CAs under it, its key usage, if stated, includes signing certificates)."""
    for candidate in candidates:
        if candidate.subject != cert.issuer or candidate == cert:
            continue
        try:
            constraints = candidate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            continue
        limit = constraints.value.path_length
        if not constraints.value.ca or (limit is not None and limit < below):
            continue
        try:
            if not candidate.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
                continue
        except x509.ExtensionNotFound:
            pass
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _may_sign(leaf: x509.Certificate) -> None:
    extensions = leaf.extensions
    try:
        if extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return
    except x509.ExtensionNotFound:
        pass
    try:
        usage = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CODE_SIGNING in usage:
            return
    except x509.ExtensionNotFound:
        pass
    raise ChainRejected("the signing certificate may not sign (no digitalSignature usage)")


def _valid_at(cert: x509.Certificate, at: datetime) -> None:
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise ChainRejected(
            f"{cert.subject.rfc4514_string()[:200]} was not valid when the signing "
            "certificate was issued"
        )


def _ec_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVE_HASHES:
        raise ChainRejected("the signing certificate's key is not ECDSA on P-256, P-384 or P-521")
    return key


def _cert_fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()
