"""The SDK's own records: what a call learns beyond the server's answer, or works out here
(a pull's signature check, an audit verification); the answers themselves are the
``cairn.wire`` models their routes declare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cairn.domain.record_replay import Finding
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


@dataclass(frozen=True, slots=True)
class RecordsCheck:
    """The records the API serves, held against the state the verified log's entries
    committed to (``verify_audit(records=True)``): ``checked`` records compared, the
    ``findings`` (those that fail the check are ``forged``; ``uncovered`` ones were last
    changed before entries carried state digests), and ``not_compared``, the records changed
    after the verified checkpoint (check again to cover them).

    >>> check = cairn.verify_audit(records=True).records  # doctest: +SKIP
    >>> check.checked, [f.describe() for f in check.forged]  # doctest: +SKIP
    (42, [])
    """

    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)

    @property
    def forged(self) -> list[Finding]:
        return [f for f in self.findings if f.forged]

    @property
    def uncovered(self) -> list[Finding]:
        return [f for f in self.findings if not f.forged]


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What ``verify_audit`` found, checking the whole log here: the signed checkpoint's
    ``size`` and ``root``, the size trusted before (``trusted_before``; None the first time),
    the ``checkpoints`` verified, each with the key in force at its size, the chain of
    checkpoint ``keys`` (oldest first), every one of the ``problems``, and, with
    ``records=True`` once the log verified, the check of the ``records``. ``ok`` only if
    nothing is in ``problems`` and no record was changed outside Cairn.

    >>> found = cairn.verify_audit()  # doctest: +SKIP
    >>> found.ok, found.size, found.problems  # doctest: +SKIP
    (True, 118, [])
    """

    size: int = 0
    root: str = ""
    trusted_before: int | None = None
    problems: list[str] = field(default_factory=list)
    records: RecordsCheck | None = None
    checkpoints: int = 0
    keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not (self.records and self.records.forged)


@dataclass(frozen=True, slots=True)
class SliceVerification:
    """What ``verify_audit_slice`` found: how many ``entries`` of the ``namespace``'s slice
    were proved to be in the log of ``size`` entries whose ``root`` the latest checkpoint
    signs, whether that checkpoint's key matched one a full verify pinned (``key_pinned``),
    and every one of the ``problems``; ``ok`` only if there is none.

    >>> found = cairn.verify_audit_slice("risk")  # doctest: +SKIP
    >>> found.ok, found.entries, found.key_pinned  # doctest: +SKIP
    (True, 31, True)
    """

    namespace: str
    size: int = 0
    root: str = ""
    key_pinned: bool = False
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
