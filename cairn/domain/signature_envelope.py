"""A ``model-signing`` bundle's envelope: reading it, and who signed it (see
``cairn.domain.signatures`` for the format, ``cairn.domain.signature_trust`` for trust)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from cairn.domain.jsonsafe import strict_loads
from cairn.domain.signature_trust import (
    CURVE_HASHES,
    ChainRejected,
    TrustedCertificate,
    TrustedKey,
    chain_signer,
)
from cairn.errors import InvalidJSON

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
# Room for 100,000 files (the manifest's bound) with paths of up to ~350 characters.
BUNDLE_MAX = 64 * 2**20
SIGNATURES_MAX = 16

_T = TypeVar("_T")


class SignatureFailure(StrEnum):
    MALFORMED_BUNDLE = "malformed_bundle"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNSUPPORTED_HASHING = "unsupported_hashing"
    NO_TRUSTED_KEY = "no_trusted_key"
    BAD_SIGNATURE = "bad_signature"
    FILE_CHANGED = "file_changed"
    FILE_MISSING = "file_missing"
    FILE_ADDED = "file_added"


class Rejected(Exception):
    def __init__(self, reason: SignatureFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    hint: str | None
    chain: tuple[bytes, ...] = ()  # DER, signing certificate first (the certificate method)


def read_envelope(bundle: bytes) -> Envelope:
    if len(bundle) > BUNDLE_MAX:
        raise malformed(f"a signature bundle is at most {BUNDLE_MAX} bytes")
    doc = json_object(bundle, "the signature bundle")
    if field(doc, "mediaType", str) != BUNDLE_MEDIA_TYPE:
        raise unsupported(f"bundle media type is not {BUNDLE_MEDIA_TYPE}")
    material = field(doc, "verificationMaterial", dict)
    chain = _chain(material)
    if "publicKey" not in material and not chain:
        raise unsupported("signed neither with a key nor with a certificate chain")
    hint = field(material, "publicKey", dict).get("hint") if "publicKey" in material else None
    if hint is not None and not isinstance(hint, str):
        raise malformed("the public key hint is not a string")
    dsse = field(doc, "dsseEnvelope", dict)
    raw_signatures = field(dsse, "signatures", list)
    if not 1 <= len(raw_signatures) <= SIGNATURES_MAX:
        raise malformed(f"the envelope holds 1 to {SIGNATURES_MAX} signatures")
    signatures: list[bytes] = []
    for item in raw_signatures:
        if not isinstance(item, dict):
            raise malformed("an envelope signature is not an object")
        signatures.append(base64_field(field(item, "sig", str), "a signature"))
    return Envelope(
        payload_type=field(dsse, "payloadType", str),
        payload=base64_field(field(dsse, "payload", str), "the payload"),
        signatures=tuple(signatures),
        hint=hint or None,
        chain=chain,
    )


def _chain(material: dict[str, Any]) -> tuple[bytes, ...]:
    if "x509CertificateChain" not in material:
        return ()
    certificates = field(field(material, "x509CertificateChain", dict), "certificates", list)
    if not 1 <= len(certificates) <= SIGNATURES_MAX:
        raise malformed(f"a certificate chain holds 1 to {SIGNATURES_MAX} certificates")
    return tuple(
        base64_field(field(c, "rawBytes", str), "a certificate") if isinstance(c, dict) else b""
        for c in certificates
    )


def authenticate(
    envelope: Envelope, trusted_: list[TrustedKey | TrustedCertificate]
) -> tuple[str, str | None]:
    """The fingerprint of the trusted key (or signing certificate) that signed the envelope,
    and of the trusted certificate it chains to (None for a key)."""
    if envelope.chain:
        roots = [t for t in trusted_ if isinstance(t, TrustedCertificate)]
        try:
            signing_key, signer, anchor = chain_signer(envelope.chain, roots)
        except ChainRejected as exc:
            raise Rejected(SignatureFailure.NO_TRUSTED_KEY, str(exc)) from exc
        pae = _pae(envelope.payload_type, envelope.payload)
        algorithm = ec.ECDSA(CURVE_HASHES[signing_key.curve.name]())
        for signature in envelope.signatures:
            try:
                signing_key.verify(signature, pae, algorithm)
            except InvalidSignature:
                continue
            return signer, anchor
        raise Rejected(
            SignatureFailure.BAD_SIGNATURE,
            f"the signature does not verify with the signing certificate {signer}",
        )
    keys = [t for t in trusted_ if isinstance(t, TrustedKey)]
    if not keys:
        raise Rejected(SignatureFailure.NO_TRUSTED_KEY, "no signing key is trusted here")
    candidates = [k for k in keys if envelope.hint in (None, k.hint)]
    if not candidates:
        raise Rejected(
            SignatureFailure.NO_TRUSTED_KEY,
            f"signed by a key that is not trusted here (key hint {str(envelope.hint)[:64]})",
        )
    pae = _pae(envelope.payload_type, envelope.payload)
    for key in candidates:
        algorithm = ec.ECDSA(CURVE_HASHES[key.public_key.curve.name]())
        for signature in envelope.signatures:
            try:
                key.public_key.verify(signature, pae, algorithm)
            except InvalidSignature:
                continue
            return key.fingerprint, None
    if envelope.hint is None:  # with no hint we cannot tell a forgery from a stranger's key
        raise Rejected(SignatureFailure.NO_TRUSTED_KEY, "no trusted key verifies the signature")
    raise Rejected(
        SignatureFailure.BAD_SIGNATURE,
        f"the signature does not verify with trusted key {candidates[0].fingerprint}",
    )


def _pae(payload_type: str, payload: bytes) -> bytes:
    # DSSE pre-authentication encoding: lengths are byte counts, in ASCII decimal.
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    # The one strict reader: with a duplicate key, another verifier could read other digests.
    try:
        doc = strict_loads(raw, max_bytes=len(raw))
    except InvalidJSON as exc:
        raise malformed(f"{what} is not strict JSON: {exc.message}") from exc
    if not isinstance(doc, dict):
        raise malformed(f"{what} is not a JSON object")
    return doc


def field(doc: dict[str, Any], name: str, kind: type[_T]) -> _T:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise malformed(f"{name!r} is missing or not a {kind.__name__}")
    return value


def base64_field(text: str, what: str) -> bytes:
    # Protobuf's JSON form writes standard base64 but readers accept the URL-safe alphabet
    # and missing padding too, so do the same.
    normal = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed(f"{what} is not base64") from exc


def malformed(message: str) -> Rejected:
    return Rejected(SignatureFailure.MALFORMED_BUNDLE, message)


def unsupported(message: str) -> Rejected:
    return Rejected(SignatureFailure.UNSUPPORTED_FORMAT, message)
