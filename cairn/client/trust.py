"""The SDK's calls about trust: who am I, tokens, principals and roles, and the audit log.
``Client`` has them all; they live here to keep each module one subject."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.client.audit import AuditVerification, verify_log
from cairn.client.audit_slice import SliceVerification, verify_slice
from cairn.client.http import Http
from cairn.wire import paths


class TrustCalls:
    http: Http

    # Identity: who am I, tokens, principals and their roles

    def whoami(self) -> dict[str, Any]:
        """``cairn.whoami()["roles"]``: the caller's name, roles and token scopes."""
        result: dict[str, Any] = self.http.json("GET", paths.WHOAMI)
        return result

    def create_token(
        self,
        name: str,
        *,
        scopes: Mapping[str, str | list[str]] | None = None,
        days: int | None = None,
        principal: str | None = None,
    ) -> dict[str, Any]:
        """``cairn.create_token("ci", scopes={"risk": "writer"}, days=30)["secret"]``: the
        secret is returned this once and never again. A scope may name several roles
        (``{"risk": ["writer", "approver"]}``): the token may do what they permit together,
        within what its principal's roles permit."""
        body: dict[str, Any] = {"name": name}
        for key, value in (("scopes", scopes), ("days", days), ("principal", principal)):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self.http.json("POST", paths.TOKENS, json=body)
        return result

    def tokens(self, principal: str | None = None) -> list[dict[str, Any]]:
        """The caller's tokens; admins may name a principal (``"*"``: everyone's)."""
        params = {"principal": principal} if principal else {}
        items: list[dict[str, Any]] = self.http.json("GET", paths.TOKENS, params=params)["items"]
        return items

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.http.json("DELETE", paths.token(token_id))
        return result

    def create_principal(
        self, name: str, *, kind: str = "user", description: str = ""
    ) -> dict[str, Any]:
        """``cairn.create_principal("ci-bot", kind="service")``"""
        body = {"name": name, "kind": kind, "description": description}
        result: dict[str, Any] = self.http.json("POST", paths.PRINCIPALS, json=body)
        return result

    def principals(self, kind: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": kind} if kind else {}
        items: list[dict[str, Any]] = self.http.json("GET", paths.PRINCIPALS, params=params)[
            "items"
        ]
        return items

    def set_disabled(self, name: str, disabled: bool) -> dict[str, Any]:
        path = paths.principal(name)
        result: dict[str, Any] = self.http.json("PATCH", path, json={"disabled": disabled})
        return result

    def grant(self, name: str, namespace: str, role: str) -> dict[str, Any]:
        """``cairn.grant("alice", "risk", "approver")`` adds approver to alice's roles in
        ``risk`` (a writer there stays a writer); namespace ``"*"``: everywhere."""
        result: dict[str, Any] = self.http.json("PUT", _roles_path(name, namespace, role))
        return result

    def revoke(self, name: str, namespace: str, role: str | None = None) -> dict[str, Any]:
        """``cairn.revoke("alice", "risk", "approver")`` takes that one role away; without
        ``role``, every role alice holds in ``risk``."""
        result: dict[str, Any] = self.http.json("DELETE", _roles_path(name, namespace, role))
        return result

    def set_roles(self, name: str, namespace: str, roles: list[str]) -> dict[str, Any]:
        """``cairn.set_roles("alice", "risk", ["writer", "approver"])``: exactly these."""
        path = _roles_path(name, namespace, None)
        result: dict[str, Any] = self.http.json("PUT", path, json={"roles": roles})
        return result

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
    ) -> list[dict[str, Any]]:
        """``cairn.audit_entries("risk/fraud")``: entries in log order (global admins);
        ``cairn.audit_entries(namespace="risk")``: the namespace's slice, for its readers."""
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
        items: list[dict[str, Any]] = self.http.json("GET", path, params=params)["items"]
        return items

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

    def audit_keys(self) -> list[dict[str, Any]]:
        """The checkpoint keys, oldest first, each after the first with its rotation entry."""
        items: list[dict[str, Any]] = self.http.json("GET", paths.AUDIT_KEYS)["items"]
        return items

    def rotate_audit_key(self) -> dict[str, Any]:
        """``cairn.rotate_audit_key()["key_id"]``: a new checkpoint key, announced in the log
        and endorsed by the old one (global admins)."""
        result: dict[str, Any] = self.http.json("POST", paths.AUDIT_KEYS)
        return result

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
