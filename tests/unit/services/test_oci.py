"""The OCI services in-process, on SQLite and PostgreSQL: what the garbage collector keeps
for OCI manifests, and versions born from pushes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cairn.domain.digests import digest_bytes
from cairn.domain.references import Reference
from cairn.domain.registry_tokens import mint, read
from cairn.domain.tokens import parse_token, secret_hash
from cairn.errors import ModelNotFound, PolicyViolation, Unauthenticated
from cairn.services.auth import LOCAL_ADMIN
from cairn.services.container import Services
from cairn.services.oci import RegistryTokens
from tests.unit.services.test_gc import later

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _put(svc: Services, data: bytes) -> str:
    return svc.blobs.put(LOCAL_ADMIN, "default", [data], digest_bytes(data), len(data)).digest


def _manifest(config: str, layers: list[tuple[str, int, str]], **extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [
            {
                "mediaType": "application/octet-stream",
                "digest": d,
                "size": s,
                "annotations": {"org.opencontainers.image.title": t},
            }
            for d, s, t in layers
        ],
        **extra,
    }
    return json.dumps(doc).encode()


def test_the_collector_keeps_the_blobs_oci_manifests_name(services: Services) -> None:
    config = _put(services, b"{}")
    signature = _put(services, b"a signature")
    stray = _put(services, b"named by nothing")
    subject = digest_bytes(b"some manifest")
    body = _manifest(
        config,
        [(signature, 11, "sig")],
        subject={"mediaType": MANIFEST, "digest": subject, "size": 13},
    )
    services.oci_pushes.push(LOCAL_ADMIN, "default/signed", digest_bytes(body), body, MANIFEST)
    weights = _put(services, b"weights")
    version_body = _manifest(config, [(weights, 7, "w.bin")])
    services.oci_pushes.push(LOCAL_ADMIN, "default/m", "latest", version_body, MANIFEST)
    kserve = services.oci.manifest(LOCAL_ADMIN, "default/m", "1.kserve")
    tar = json.loads(kserve.content)["layers"][0]["digest"]

    report = later(services).collect(LOCAL_ADMIN, grace=timedelta(0))

    assert [b.digest for b in report.unreferenced] == [stray]
    for kept in (config, signature, weights, tar):
        assert services.blobs.stat(LOCAL_ADMIN, "default", kept).digest == kept
    referrers = services.oci.referrers(LOCAL_ADMIN, "default/signed", subject, None)
    assert [m.digest for m in referrers] == [digest_bytes(body)]


def test_a_push_by_tag_is_a_version_with_the_layers_as_files(services: Services) -> None:
    config = _put(services, b"{}")
    a, b = _put(services, b"alpha"), _put(services, b"beta!")
    body = _manifest(
        config,
        [(a, 5, "a.bin"), (b, 5, "sub/b.bin")],
        annotations={"org.opencontainers.image.description": "pushed by oras"},
    )
    # A protected alias refuses a registered version: the push fails whole, no version born.
    with pytest.raises(PolicyViolation):
        services.oci_pushes.push(LOCAL_ADMIN, "default/pushed", "staging", body, MANIFEST)
    with pytest.raises(ModelNotFound):
        services.versions.page(LOCAL_ADMIN, "default", "pushed", None, None)
    pushed = services.oci_pushes.push(LOCAL_ADMIN, "default/pushed", "candidate", body, MANIFEST)
    assert pushed.version is not None and pushed.version.number == 1
    version = services.versions.get(LOCAL_ADMIN, Reference("default", "pushed", number=1))
    assert version.description == "pushed by oras"
    assert [(f.path, f.digest) for f in version.files or ()] == [("a.bin", a), ("sub/b.bin", b)]
    assert services.aliases.current(LOCAL_ADMIN, "default", "pushed") == {"candidate": 1}
    again = services.oci_pushes.push(LOCAL_ADMIN, "default/pushed", "latest", body, MANIFEST)
    assert again.version is not None and again.version.number == 1
    assert services.oci.manifest(LOCAL_ADMIN, "default/pushed", "candidate").content == body


def test_registry_tokens_need_the_servers_key_and_a_bounded_expiry(
    services: Services, admin_token: str
) -> None:
    tokens = services.registry_tokens
    issued = tokens.issue(admin_token, None)
    assert tokens.authenticate(issued.token, None).actor.name == "admin"
    key_file = services.settings.effective_registry_token_key_file
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Another server process, given the same key file, accepts the token.
    other = RegistryTokens(services.identity, key_file)
    assert other.authenticate(issued.token, None).actor.name == "admin"

    parsed = read(issued.token)
    assert parsed is not None
    cairn_token = parse_token(admin_token)
    assert cairn_token is not None
    stored = secret_hash(cairn_token[1])
    # What a reader of the database could make: the stored hash, without the key.
    forged = mint(b"0" * 64, parsed.token_id, stored, parsed.expires)
    with pytest.raises(Unauthenticated, match="not known"):
        tokens.authenticate(forged, None)
    # Even with the key, a token living longer than the registry issues is refused.
    far = mint(tokens._key, parsed.token_id, stored, parsed.expires + 10 * 3600)
    with pytest.raises(Unauthenticated, match="not issued by this registry"):
        tokens.authenticate(far, None)
