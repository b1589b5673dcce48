"""The SDK's calls about trust: who am I, tokens, principals and roles, and the audit log.
``Client`` has them all; they live here to keep each module one subject."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.client.audit import verify_log
from cairn.client.audit_slice import verify_slice
from cairn.client.http import Http
from cairn.client.records import AuditVerification, SliceVerification
from cairn.wire import paths
from cairn.wire.audit import AuditEntry, ChainKey, KeyRotation
from cairn.wire.identity import Caller, IssuedToken, Principal, Token


class TrustCalls:
    http: Http

    # Identity: who am I, tokens, principals and their roles

    def whoami(self) -> Caller:
        """The caller's name, roles and token scopes:

        >>> cairn.whoami().roles  # doctest: +SKIP
        {'risk': ['approver', 'writer']}
        """
        return self.http.record(Caller, "GET", paths.WHOAMI)

    def create_token(
        self,
        name: str,
        *,
        scopes: Mapping[str, str | list[str]] | None = None,
        days: int | None = None,
        principal: str | None = None,
    ) -> IssuedToken:
        """A new token and its secret, returned this once and never again:

        >>> cairn.create_token("ci", scopes={"risk": "writer"}, days=30).secret  # doctest: +SKIP
        'cairn_…'

        A scope may name several roles (``{"risk": ["writer", "approver"]}``): the token may
        do what they permit together, within what its principal's roles permit."""
        body: dict[str, Any] = {"name": name}
        for key, value in (("scopes", scopes), ("days", days), ("principal", principal)):
            if value is not None:
                body[key] = value
        return self.http.record(IssuedToken, "POST", paths.TOKENS, json=body)

    def tokens(self, principal: str | None = None) -> list[Token]:
        """The caller's tokens; admins may name a principal (``"*"``: everyone's):

        >>> [(t.name, t.expires_at) for t in cairn.tokens()]  # doctest: +SKIP
        [('laptop', None)]
        """
        params = {"principal": principal} if principal else {}
        return self.http.records(Token, "GET", paths.TOKENS, params=params)

    def revoke_token(self, token_id: str) -> Token:
        """Revoke a token at once; answers it, with ``revoked_at`` set:

        >>> cairn.revoke_token("k3xq7m2a9bz4w6pd").revoked_at is not None  # doctest: +SKIP
        True
        """
        return self.http.record(Token, "DELETE", paths.token(token_id))

    def create_principal(
        self, name: str, *, kind: str = "user", description: str = ""
    ) -> Principal:
        """A new user or service account (global admins), holding no role yet:

        >>> cairn.create_principal("ci-bot", kind="service").roles  # doctest: +SKIP
        {}
        """
        body = {"name": name, "kind": kind, "description": description}
        return self.http.record(Principal, "POST", paths.PRINCIPALS, json=body)

    def principals(self, kind: str | None = None) -> list[Principal]:
        """The principals (of one ``kind``: ``user`` or ``service``), for global admins:

        >>> [p.name for p in cairn.principals("service")]  # doctest: +SKIP
        ['ci-bot']
        """
        params = {"kind": kind} if kind else {}
        return self.http.records(Principal, "GET", paths.PRINCIPALS, params=params)

    def set_disabled(self, name: str, disabled: bool) -> Principal:
        """Disable a principal (every token it holds stops working at once), or enable it:

        >>> cairn.set_disabled("ci-bot", True).disabled  # doctest: +SKIP
        True
        """
        path = paths.principal(name)
        return self.http.record(Principal, "PATCH", path, json={"disabled": disabled})

    def grant(self, name: str, namespace: str, role: str) -> Principal:
        """Add a role to what a principal holds in ``namespace`` (``"*"``: everywhere); a
        writer there stays a writer:

        >>> cairn.grant("alice", "risk", "approver").roles["risk"]  # doctest: +SKIP
        ['approver', 'writer']
        """
        return self.http.record(Principal, "PUT", _roles_path(name, namespace, role))

    def revoke(self, name: str, namespace: str, role: str | None = None) -> Principal:
        """Take one role a principal holds in ``namespace`` away; without ``role``, every one:

        >>> cairn.revoke("alice", "risk", "approver").roles  # doctest: +SKIP
        {'risk': ['writer']}
        """
        return self.http.record(Principal, "DELETE", _roles_path(name, namespace, role))

    def set_roles(self, name: str, namespace: str, roles: list[str]) -> Principal:
        """Make a principal hold exactly these roles in ``namespace``:

        >>> cairn.set_roles("alice", "risk", ["writer", "approver"]).roles  # doctest: +SKIP
        {'risk': ['approver', 'writer']}
        """
        path = _roles_path(name, namespace, None)
        return self.http.record(Principal, "PUT", path, json={"roles": roles})

    # The audit log

    def audit_entries(
        self,
        subject: str | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
        after: int | None = None,
        limit: int = 100,
        namespace: str | None = None,
    ) -> list[AuditEntry]:
        """Entries in log order: the whole log's for global admins, or (``namespace``) the
        namespace's slice, for its readers:

        >>> [(e.index, e.action) for e in cairn.audit_entries("risk/fraud")]  # doctest: +SKIP
        [(12, 'model.create'), (13, 'version.register')]
        """
        params: dict[str, Any] = {"limit": limit}
        for key, value in (
            ("subject", subject),
            ("actor_name", actor),
            ("action", action),
            ("after", after),
        ):
            if value is not None:
                params[key] = value
        path = paths.AUDIT_ENTRIES
        if namespace is not None:
            path = paths.namespace_audit_entries(namespace)
        return self.http.records(AuditEntry, "GET", path, params=params)

    def verify_audit(
        self,
        state_file: Path | None = None,
        *,
        records: bool = False,
        trusted_key: str | None = None,
    ) -> AuditVerification:
        """Verify the audit log end to end (see ``cairn.client.audit``); with ``records``,
        also that every record the API serves is as the log's entries left it:
        ``cairn.verify_audit(records=True).records.forged`` names any edited behind Cairn.
        ``trusted_key``: the PEM of a checkpoint key to start trusting from, instead of the
        one remembered."""
        return verify_log(self.http, state_file, records=records, trusted_key=trusted_key)

    def audit_keys(self) -> list[ChainKey]:
        """The checkpoint keys, oldest first, each after the first with its rotation entry:

        >>> [(k.key_id, k.index) for k in cairn.audit_keys()]  # doctest: +SKIP
        [('ed25519:3a7c…', None), ('ed25519:91be…', 42)]
        """
        return self.http.records(ChainKey, "GET", paths.AUDIT_KEYS)

    def rotate_audit_key(self) -> KeyRotation:
        """A new checkpoint key, announced in the log and endorsed by the old one (global
        admins):

        >>> cairn.rotate_audit_key().key_id  # doctest: +SKIP
        'ed25519:91be…'
        """
        return self.http.record(KeyRotation, "POST", paths.AUDIT_KEYS)

    def verify_audit_slice(
        self, namespace: str, state_file: Path | None = None
    ) -> SliceVerification:
        """Prove every entry of the namespace's slice is in the signed log (see
        ``cairn.client.audit_slice``): ``cairn.verify_audit_slice("risk").ok``."""
        return verify_slice(self.http, namespace, state_file)


def _roles_path(name: str, namespace: str, role: str | None) -> str:
    if role is None:
        return paths.principal_roles(name, namespace)
    return paths.principal_role(name, namespace, role)
