"""The SDK's own records: what a call learns beyond the server's answer (the answers
themselves are the ``cairn.wire`` models their routes declare)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cairn.wire.versions import Version


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The version's signature (``model.sig``) as ``pull`` verified it here, on the bytes it
    fetched: ``verified`` by ``signer`` (a key's fingerprint), ``failed`` (``message`` says
    why; ``signer`` is set when a trusted key signed other content), or ``unsigned``."""

    status: Literal["verified", "failed", "unsigned"]
    signer: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Pulled:
    """A pulled version: the server's record of it and the signature check made here.

    >>> pulled = cairn.pull("risk/fraud@production", "/srv/fraud")  # doctest: +SKIP
    >>> pulled.version.ref, pulled.signature_check.status  # doctest: +SKIP
    ('risk/fraud:7', 'verified')
    """

    version: Version
    signature_check: SignatureCheck
