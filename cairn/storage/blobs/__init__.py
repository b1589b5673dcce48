"""Blob storage: bytes addressed by their sha256 digest.

``BlobStore`` is the one seam where deployments differ (a local folder, memory, S3-compatible
storage). Every implementation passes one contract suite, tests/contract/test_blobstores.py.
"""

from __future__ import annotations

from cairn.storage.blobs.base import BlobStat, BlobStore, open_blob_store

__all__ = ["BlobStat", "BlobStore", "open_blob_store"]
