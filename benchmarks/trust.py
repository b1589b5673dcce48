"""What trust costs: signing, signature checks and scanning on a 1 GiB version, and the audit
log's append cost per mutation at 100,000 entries. One command, Cairn only (MLflow has none of
these): ``.venv/bin/python -m benchmarks.trust [--size-mib 1024] [--entries 100000]``.

Measured in-process on the embedded default (SQLite + local folder), with the server's own
services, so the figures are the work itself, without HTTP.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cairn.client.signing import sign_folder
from cairn.config import load_settings
from cairn.domain.manifest import parse_manifest
from cairn.domain.registrations import Registration
from cairn.domain.signatures import SIGNATURE_FILE, verify_signature
from cairn.services.auth import EVERYWHERE, LOCAL_ADMIN, SYSTEM, Permission
from cairn.services.container import Services

MiB = 1 << 20


def timed(job: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Median seconds of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def safetensors_file(path: Path, size: int) -> None:
    """A valid safetensors file of about ``size`` bytes: one F32 tensor of random data."""
    count = (size - 4096) // 4
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        left = count * 4
        block = os.urandom(8 * MiB)
        while left:
            out.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            hasher.update(block)
    return "sha256:" + hasher.hexdigest()


def torch_zip(path: Path, size: int) -> None:
    """A PyTorch-style zip of about ``size`` bytes: a small pickle naming the usual globals
    (an OrderedDict of tensors rebuilt from one storage) and the storage's raw bytes."""
    import pickle
    import zipfile

    class Rebuild:
        def __reduce__(self) -> tuple[object, ...]:
            import collections

            return (collections.OrderedDict, ([("weight", 0)],))

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Rebuild(), protocol=2))
        archive.writestr("archive/version", "3\n")
        with archive.open("archive/data/0", "w", force_zip64=True) as out:
            block = os.urandom(8 * MiB)
            left = size - 4096
            while left > 0:
                out.write(block[: min(left, len(block))])
                left -= len(block)


def put_file(svc: Services, path: Path) -> dict[str, object]:
    digest = _sha256(path)
    size = path.stat().st_size

    def chunks() -> object:
        with path.open("rb") as f:
            while block := f.read(MiB):
                yield block

    svc.blobs.put(LOCAL_ADMIN, chunks(), digest, size)  # type: ignore[arg-type]
    return {"path": path.name, "digest": digest, "size": size}


def signing_and_scanning(root: Path, size_mib: int) -> dict[str, float]:
    folder = root / "model"
    folder.mkdir()
    safetensors_file(folder / "model.safetensors", size_mib * MiB)
    (folder / "config.json").write_text('{"layers": 12}\n')
    key = ec.generate_private_key(ec.SECP256R1())
    pem = root / "key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sign_s, bundle = timed(lambda: sign_folder(folder, pem), repeat=1)
    (root / SIGNATURE_FILE).write_bytes(bundle)  # type: ignore[arg-type]
    svc = Services.open(load_settings(data_dir=root / "data"))
    try:
        entries = [put_file(svc, p) for p in sorted(folder.iterdir())]
        entries.append(put_file(svc, root / SIGNATURE_FILE))
        manifest = parse_manifest({"files": entries})
        svc.keys.add(LOCAL_ADMIN, "default", "release", public.decode())
        check_s, outcome = timed(lambda: svc.builtin_validations.signature("default", manifest))
        assert outcome.status == "verified", outcome  # type: ignore[attr-defined]
        files = {f.path: (f.size, f.digest) for f in manifest.files}
        pull_s, result = timed(lambda: verify_signature(bundle, [public], files))  # type: ignore[arg-type]
        assert result.verified  # type: ignore[attr-defined]
        scan_s, scanned = timed(lambda: svc.builtin_validations.scan(manifest.files))
        assert scanned.status == "clean", scanned  # type: ignore[attr-defined]
        torch = root / "torch"
        torch.mkdir()
        torch_zip(torch / "model.pt", size_mib * MiB)
        torch_manifest = parse_manifest({"files": [put_file(svc, torch / "model.pt")]})
        torch_s, torch_scan = timed(lambda: svc.builtin_validations.scan(torch_manifest.files))
        assert torch_scan.status == "clean", torch_scan  # type: ignore[attr-defined]
        hash_s, _ = timed(lambda: _sha256(folder / "model.safetensors"), 1)
        register_s, _ = timed(
            lambda: svc.versions.register(
                LOCAL_ADMIN, "default", "big", Registration(parse_manifest(entries))
            ),
            repeat=3,
        )
    finally:
        svc.close()
    return {
        "version_mib": size_mib,
        "sign_folder_s (client: hashes every file)": sign_s,
        "sha256 of the big file alone_s": hash_s,
        "server signature check_ms": check_s * 1000,
        "pull signature check_ms (digests already verified)": pull_s * 1000,
        "scan of the safetensors version_s": scan_s,
        "scan of a PyTorch zip of the same size_s": torch_s,
        "register with both checks_s": register_s,
    }


def audit_append(root: Path, entries: int) -> dict[str, float]:
    svc = Services.open(load_settings(data_dir=root / "audit"))
    try:
        with svc.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            for i in range(entries):
                uow.record("bench.fill", f"bench/{i}", i=i, note="filler entry")
        seq_s, _ = timed(svc.audit.sequence, repeat=1)
        svc.models.create(LOCAL_ADMIN, "default", "m", {})
        samples = []
        for i in range(300):
            started = time.perf_counter()
            with svc.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
                uow.record("bench.append", "bench/x", i=i, note="one entry")
            samples.append(time.perf_counter() - started)
        with svc.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            started = time.perf_counter()
            for i in range(1000):
                uow.record("bench.append", "bench/y", i=i, note="one entry")
            append_only = (time.perf_counter() - started) / 1000
        without = []
        for _ in range(300):
            started = time.perf_counter()
            with svc.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE):
                pass
            without.append(time.perf_counter() - started)
        tag = []
        for i in range(300):
            started = time.perf_counter()
            svc.models.set_tag(LOCAL_ADMIN, "default", "m", "k", str(i))
            tag.append(time.perf_counter() - started)
        checkpoint_s, checkpoint = timed(svc.audit.sequence, repeat=1)
        size = checkpoint.size  # type: ignore[attr-defined]
        proof_s, _ = timed(lambda: svc.audit.inclusion_proof(LOCAL_ADMIN, size // 2, size), 5)
        grow_s, _ = timed(lambda: svc.audit.consistency_proof(LOCAL_ADMIN, entries, size), 5)
    finally:
        svc.close()
    return {
        "entries": entries,
        "sequence + first checkpoint of the filled log_s": seq_s,
        "transaction with one audit entry, committed_ms": statistics.median(samples) * 1000,
        "empty write transaction (no commit to sync)_ms": statistics.median(without) * 1000,
        "audit entry + event appended, within a transaction_ms": append_only * 1000,
        "a mutation (model tag) end to end_ms (median)": statistics.median(tag) * 1000,
        "checkpoint after 600 more entries_ms": checkpoint_s * 1000,
        "inclusion proof_ms": proof_s * 1000,
        "consistency proof_ms": grow_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cairn-trust-bench-") as scratch:
        root = Path(scratch)
        for title, figures in (
            ("signing and scanning", signing_and_scanning(root, args.size_mib)),
            ("audit log", audit_append(root, args.entries)),
        ):
            print(f"\n{title}")
            for name, value in figures.items():
                shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
                print(f"  {name:55} {shown}")


if __name__ == "__main__":
    main()
