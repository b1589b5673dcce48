"""Cairn as an OCI registry: repositories are models, tags are versions, aliases and views.

``repositories`` reads (manifests by tag or digest, tags, referrers, mounts), ``views`` builds
a version's manifests once, ``pushes`` turns pushed manifests into versions, ``tokens`` issues
the registry's short-lived bearer tokens.
"""

from cairn.services.oci.pushes import OciPushes, PushResult
from cairn.services.oci.repositories import OciRepositories, TagPage
from cairn.services.oci.tokens import IssuedRegistryToken, RegistryTokens

__all__ = [
    "IssuedRegistryToken",
    "OciPushes",
    "OciRepositories",
    "PushResult",
    "RegistryTokens",
    "TagPage",
]
