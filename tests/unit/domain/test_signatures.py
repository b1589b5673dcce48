"""The server checks an OpenSSF model-signing signature with the manifest's digests alone.

Bundles are built here by hand, following the format byte for byte, so that each rule can be
broken on its own; one test signs with the ``model_signing`` library itself, to hold the
hand-made ones to the real thing.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from cairn.domain.signatures import (
    BUNDLE_MAX,
    PREDICATE_TYPE,
    FileDifference,
    SignatureFailure,
    subject_digest,
    trusted_key,
    verify_signature,
)
from cairn.errors import InvalidInput
from tests.unit.domain.expect import raises_exactly

F = SignatureFailure
GIT_AND_SIG = ["model.sig", ".git", ".gitattributes", ".github", ".gitignore"]
FILES = {"config.json": b"{}", "weights/layer-1.bin": b"\x00" * 100, "README.md": b"# fraud"}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: Mapping[str, bytes]) -> dict[str, tuple[int, str]]:
    return {path: (len(data), f"sha256:{sha(data)}") for path, data in files.items()}


def new_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{sha(der)}"


def statement(
    files: Mapping[str, bytes], *, ignore: list[str] | None = None, **serialization_: Any
) -> dict[str, Any]:
    """The statement model_signing writes for ``files`` (resources sorted as paths)."""
    names = sorted(files, key=lambda p: p.split("/"))
    resources = [{"name": n, "algorithm": "sha256", "digest": sha(files[n])} for n in names]
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "fraud", "digest": {"sha256": root}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": False,
                "ignore_paths": GIT_AND_SIG if ignore is None else ignore,
                **serialization_,
            },
            "resources": resources,
        },
    }


def bundle_doc(
    key: ec.EllipticCurvePrivateKey,
    doc: dict[str, Any] | bytes,
    *,
    payload_type: str = "application/vnd.in-toto+json",
    hint: str | None = "",
) -> dict[str, Any]:
    """A key-mode bundle over ``doc``; ``hint=""`` means the hint model_signing writes."""
    payload = doc if isinstance(doc, bytes) else json.dumps(doc, indent=2).encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(payload), payload)
    sig = key.sign(pae, ec.ECDSA(HASHES[key.curve.name]()))
    public_key: dict[str, Any] = {"hint": sha(public_pem(key)) if hint == "" else hint}
    if hint is None:
        public_key = {}
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": public_key, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
        },
    }


def bundle(key: ec.EllipticCurvePrivateKey, doc: dict[str, Any] | bytes, **kw: Any) -> bytes:
    return json.dumps(bundle_doc(key, doc, **kw)).encode()


KEY = new_key()


def check(raw: bytes, files: Mapping[str, bytes] = FILES, **kw: Any) -> Any:
    return verify_signature(raw, [public_pem(KEY)], manifest(files), **kw)


# --- what verifies ----------------------------------------------------------------------------


def test_a_signature_from_the_model_signing_library_verifies_against_the_manifest(
    tmp_path: Path,
) -> None:
    import model_signing

    files = {**FILES, "a/b": b"1", "a-c": b"2", "a.txt": b"3", ".gitattributes": b"*"}
    for name, data in files.items():
        (tmp_path / "fraud" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fraud" / name).write_bytes(data)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    model_signing.signing.Config().use_elliptic_key_signer(private_key=key_file).sign(
        tmp_path / "fraud", tmp_path / "model.sig"
    )
    raw = (tmp_path / "model.sig").read_bytes()

    result = check(raw, files)
    assert result.verified, result.message
    assert result.signer == fingerprint(KEY)
    assert result.unsigned == (".gitattributes",)
    payload = json.loads(base64.b64decode(json.loads(raw)["dsseEnvelope"]["payload"]))
    signed = {p: d for p, (_, d) in manifest(files).items() if p != ".gitattributes"}
    assert f"sha256:{payload['subject'][0]['digest']['sha256']}" == subject_digest(signed)
    ignored = payload["predicate"]["serialization"]["ignore_paths"]
    assert sorted(ignored) == [".git", ".gitattributes", ".github", ".gitignore"]
    assert payload == statement({p: files[p] for p in signed}, ignore=ignored)


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
def test_each_supported_curve_verifies_and_names_its_signer(curve: ec.EllipticCurve) -> None:
    key = new_key(curve)
    other = new_key()
    result = verify_signature(
        bundle(key, statement(FILES)), [public_pem(other), public_pem(key)], manifest(FILES)
    )
    assert (result.verified, result.signer, result.reason) == (True, fingerprint(key), None)


def test_a_bundle_without_a_key_hint_is_checked_against_every_trusted_key() -> None:
    raw = bundle(KEY, statement(FILES), hint=None)
    result = verify_signature(raw, [public_pem(new_key()), public_pem(KEY)], manifest(FILES))
    assert result.verified and result.signer == fingerprint(KEY)


def test_files_the_signer_left_out_are_listed_as_unsigned_not_as_added() -> None:
    files = {**FILES, "model.sig": b"{}", ".git/HEAD": b"ref", "notes/x.txt": b"n"}
    result = check(bundle(KEY, statement(FILES, ignore=["notes", "model.sig"])), files)
    assert result.verified, result.message
    assert result.unsigned == (".git/HEAD", "model.sig", "notes/x.txt")


def test_the_signature_file_is_left_out_wherever_the_caller_says_it_is() -> None:
    files = {**FILES, "sig/model.sig": b"{}"}
    raw = bundle(KEY, statement(FILES, ignore=[]))
    assert check(raw, files, signature_path="sig/model.sig").verified
    result = check(raw, {**FILES, "model.sig": b"{}"}, signature_path=None)
    assert (result.reason, result.message) == (F.FILE_ADDED, "file added: model.sig")


def test_an_ignore_entry_that_would_exempt_everything_is_not_honoured() -> None:
    for entry in [".", "", "/", "../fraud", "/weights"]:
        result = check(bundle(KEY, statement({"config.json": b"{}"}, ignore=[entry])))
        assert result.reason is F.FILE_ADDED, entry


def test_only_the_files_the_signature_covers_are_looked_up() -> None:
    class Lazy(Mapping[str, tuple[int, str]]):
        def __init__(self, files: dict[str, tuple[int, str]]) -> None:
            self.files = files

        def __getitem__(self, path: str) -> tuple[int, str]:
            assert not path.startswith(".git/"), f"{path} was read"
            return self.files[path]

        def __iter__(self) -> Iterator[str]:
            return iter(self.files)

        def __len__(self) -> int:
            return len(self.files)

    files = manifest({**FILES, ".git/lfs/objects/big": b"copy of the weights"})
    result = verify_signature(bundle(KEY, statement(FILES)), [public_pem(KEY)], Lazy(files))
    assert result.verified


# --- what changed since signing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "reason", "path"),
    [
        ({**FILES, "config.json": b'{"lr": 1}'}, F.FILE_CHANGED, "config.json"),
        ({k: v for k, v in FILES.items() if k != "README.md"}, F.FILE_MISSING, "README.md"),
        ({**FILES, "weights/extra.pkl": b"x"}, F.FILE_ADDED, "weights/extra.pkl"),
    ],
)
def test_a_file_changed_missing_or_added_fails_naming_it(
    files: dict[str, bytes], reason: SignatureFailure, path: str
) -> None:
    result = check(bundle(KEY, statement(FILES)), files)
    assert not result.verified
    assert result.signer == fingerprint(KEY)  # who signed is known, what they signed is not here
    assert (result.reason, result.differences) == (reason, (FileDifference(reason, path),))
    assert result.message == f"{reason.value.replace('_', ' ')}: {path}"


def test_every_difference_is_listed_with_a_changed_file_first() -> None:
    files = {"a.new": b"", "config.json": b"changed", "weights/layer-1.bin": b"\x00" * 100}
    result = check(bundle(KEY, statement(FILES)), files)
    assert result.differences == (
        FileDifference(F.FILE_CHANGED, "config.json"),
        FileDifference(F.FILE_MISSING, "README.md"),
        FileDifference(F.FILE_ADDED, "a.new"),
    )
    assert result.message == "file changed: config.json (and 2 more)"


# --- who signed -------------------------------------------------------------------------------


def test_a_key_that_is_not_trusted_fails_with_no_trusted_key() -> None:
    stranger = new_key()
    result = check(bundle(stranger, statement(FILES)))
    assert (result.verified, result.signer, result.reason) == (False, None, F.NO_TRUSTED_KEY)
    assert "not trusted" in result.message
    assert check(bundle(stranger, statement(FILES), hint=None)).reason is F.NO_TRUSTED_KEY
    empty = verify_signature(bundle(KEY, statement(FILES)), [], manifest(FILES))
    assert (empty.reason, empty.message) == (F.NO_TRUSTED_KEY, "no signing key is trusted here")


def test_a_stranger_borrowing_a_trusted_keys_hint_has_a_bad_signature() -> None:
    raw = bundle(new_key(), statement(FILES), hint=sha(public_pem(KEY)))
    result = check(raw)
    assert (result.reason, result.signer) == (F.BAD_SIGNATURE, None)
    assert fingerprint(KEY) in result.message


def test_a_payload_changed_after_signing_has_a_bad_signature() -> None:
    doc = bundle_doc(KEY, statement(FILES))
    forged = statement({**FILES, "config.json": b"evil"})
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(forged).encode()).decode()
    assert check(json.dumps(doc).encode()).reason is F.BAD_SIGNATURE
    doc["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"not DER").decode()
    assert check(json.dumps(doc).encode()).reason is F.BAD_SIGNATURE


def test_a_signature_over_another_payload_type_does_not_verify() -> None:
    doc = bundle_doc(KEY, statement(FILES), payload_type="text/plain")
    doc["dsseEnvelope"]["payloadType"] = "application/vnd.in-toto+json"
    assert check(json.dumps(doc).encode()).reason is F.BAD_SIGNATURE


def test_trusted_keys_are_ecdsa_on_the_curves_model_signing_supports() -> None:
    assert trusted_key(public_pem(KEY)).fingerprint == fingerprint(KEY)
    assert trusted_key(public_pem(KEY).decode()).hint == sha(public_pem(KEY))
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    odd = new_key(ec.SECP256K1()).public_key()
    others: list[PublicKeyTypes] = [ed, rsa_key, odd]
    for key in others:
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with raises_exactly(InvalidInput):
            trusted_key(pem)
    with raises_exactly(InvalidInput):
        trusted_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


# --- what is not supported, and what is broken ------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "shards", "shard_size": 1_000_000_000},
        {"hash_type": "blake2"},
        {"method": "files", "hash_type": "blake3"},
    ],
)
def test_hashing_modes_that_name_digests_cairn_lacks_are_unsupported(
    changes: dict[str, Any],
) -> None:
    result = check(bundle(KEY, statement(FILES, **changes)))
    assert (result.verified, result.reason) == (False, F.UNSUPPORTED_HASHING)
    assert result.signer == fingerprint(KEY)


def test_a_resource_hashed_otherwise_is_unsupported() -> None:
    doc = statement(FILES)
    doc["predicate"]["resources"][0]["algorithm"] = "blake2"
    assert check(bundle(KEY, doc)).reason is F.UNSUPPORTED_HASHING


def _edit(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("predicateType", "https://model_signing/Digests/v0.1"),
        ("predicateType", "https://slsa.dev/provenance/v1"),
        ("_type", "https://in-toto.io/Statement/v0.1"),
    ],
)
def test_other_statements_are_unsupported(path: str, value: str) -> None:
    result = check(bundle(KEY, _edit(statement(FILES), path, value)))
    assert result.reason is F.UNSUPPORTED_FORMAT, result.message


def test_other_bundles_are_unsupported() -> None:
    good = bundle_doc(KEY, statement(FILES))
    v02 = _edit(good, "mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.2")
    certificate = _edit(good, "verificationMaterial", {"certificate": {"rawBytes": "AAAA"}})
    other_type = bundle_doc(KEY, statement(FILES), payload_type="application/json")
    for doc in [v02, certificate, other_type]:
        assert check(json.dumps(doc).encode()).reason is F.UNSUPPORTED_FORMAT


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b"[" * 100_000 + b"]" * 100_000,
        b"{" * 100_000,
        b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
    ],
)
def test_garbage_is_a_malformed_bundle_not_an_exception(raw: bytes) -> None:
    result = check(raw)
    assert (result.verified, result.reason, result.signer) == (False, F.MALFORMED_BUNDLE, None)


def test_a_bundle_past_the_size_bound_is_refused_unread() -> None:
    assert check(b" " * (BUNDLE_MAX + 1)).message.startswith("a signature bundle is at most")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("dsseEnvelope.payload", "not base64!"),
        ("dsseEnvelope.signatures", []),
        ("dsseEnvelope.signatures", ["sig"]),
        ("dsseEnvelope.signatures", [{"sig": 1}] * 17),
        ("dsseEnvelope.signatures.0.sig", None),
        ("verificationMaterial.publicKey.hint", 42),
        ("verificationMaterial", "key"),
    ],
)
def test_a_broken_envelope_is_malformed(path: str, value: Any) -> None:
    doc = _edit(bundle_doc(KEY, statement(FILES)), path, value)
    assert check(json.dumps(doc).encode()).reason is F.MALFORMED_BUNDLE


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("subject.0.digest.sha256", "0" * 64),
        ("subject", []),
        ("predicate.resources", []),
        ("predicate.resources.0.digest", "xyz"),
        ("predicate.resources.1.name", "./README.md"),
        ("predicate.resources.0", "config.json"),
        ("predicate.serialization.ignore_paths", "model.sig"),
        ("predicate", None),
    ],
)
def test_a_broken_statement_is_malformed_even_when_signed(path: str, value: Any) -> None:
    result = check(bundle(KEY, _edit(statement(FILES), path, value)))
    assert (result.reason, result.signer) == (F.MALFORMED_BUNDLE, fingerprint(KEY))


def test_a_signed_payload_that_is_not_json_is_malformed() -> None:
    for payload in [b"\xff", b"[1]", b"not json"]:
        assert check(bundle(KEY, payload)).reason is F.MALFORMED_BUNDLE


def test_a_signed_statement_with_a_duplicate_key_is_malformed() -> None:
    """Signed bytes that two JSON readers could read as two different file lists: the first
    ``resources`` lists what the folder holds, the second what a lax reader would check."""
    signed = json.dumps(statement(FILES))
    decoy = json.dumps(statement({"config.json": b"{}"})["predicate"]["resources"])
    doubled = signed[:-2] + f', "resources": {decoy}}}}}'
    assert json.loads(doubled)["predicate"]["resources"] == json.loads(decoy)
    result = check(bundle(KEY, doubled.encode()))
    assert (result.reason, result.signer) == (F.MALFORMED_BUNDLE, fingerprint(KEY))
    assert "duplicate key 'resources'" in result.message


def test_a_bundle_with_a_duplicate_key_is_malformed() -> None:
    raw = bundle(KEY, statement(FILES))
    doubled = raw[:-1] + b', "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'
    result = check(doubled)
    assert result.reason is F.MALFORMED_BUNDLE and "duplicate key" in result.message


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        path = f"{prefix}{key}"
        yield path
        if isinstance(child, dict | list) and child:
            yield from _paths(child, f"{path}.")


def test_no_field_of_a_signed_statement_or_its_bundle_replaced_by_any_type_raises() -> None:
    odd_values: list[Any] = [None, True, 0, -1, 1.5, "", "x" * 300, [], [None], {}, {"a": None}]
    doc, wrapper = statement(FILES), bundle_doc(KEY, statement(FILES))
    results = [check(bundle(KEY, _edit(doc, p, v))) for p in _paths(doc) for v in odd_values]
    results += [
        check(json.dumps(_edit(wrapper, p, v)).encode())
        for p in _paths(wrapper)
        for v in odd_values
    ]
    assert all(r.verified is (r.reason is None) for r in results)
    assert sum(r.verified for r in results) < len(results) // 4  # most edits break something


def test_the_subject_digest_orders_files_as_paths() -> None:
    digests = {p: f"sha256:{sha(p.encode())}" for p in ["a.txt", "a-c", "a/b", "b"]}
    in_path_order = ["a/b", "a-c", "a.txt", "b"]
    expected = hashlib.sha256(b"".join(bytes.fromhex(sha(p.encode())) for p in in_path_order))
    assert subject_digest(digests) == f"sha256:{expected.hexdigest()}"
