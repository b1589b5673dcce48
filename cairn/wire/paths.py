"""The paths of Cairn's API, built in one place: the prefix the routes are mounted under and
the path of every resource the SDK asks for.

Paths are relative to ``API_PREFIX`` (the SDK's HTTP layer adds it; the routers are made
with it). Every value a caller names becomes one percent-encoded segment
(``quote(value, safe="")``): a space, a non-ASCII letter, ``?``, ``#``, ``%`` or ``/`` travels
as its escape, and the server decodes the path before it matches a route, so the route sees
the value exactly as the caller wrote it, and a name the server refuses is refused by name
(``invalid_name``), never taken for another route. Two values are spelled as the routes read
them: a version selector keeps its ``@`` (``3``, ``latest``, ``@champion``), and a tag key may
hold ``/`` (``team/owner``), which its route takes with the rest of the path
(``{key:path}``). ``tests/unit/wire/test_paths.py`` holds every builder here to a route of the
real app, with values that need each of these escapes.
"""

from __future__ import annotations

from urllib.parse import quote

from cairn.domain.references import Reference

API_PREFIX = "/api/v1"

NAMESPACES = "/namespaces"
MODELS = "/models"
VERSIONS = "/versions"
RESOLVE = "/resolve"
WHOAMI = "/whoami"
TOKENS = "/tokens"
PRINCIPALS = "/principals"
GC = "/gc"
SERVER = "/server"
AUDIT_ENTRIES = "/audit/entries"
AUDIT_CHECKPOINT = "/audit/checkpoint"
AUDIT_CHECKPOINTS = "/audit/checkpoints"
AUDIT_KEY = "/audit/key"
AUDIT_KEYS = "/audit/keys"
INCLUSION_PROOF = "/audit/proofs/inclusion"
CONSISTENCY_PROOF = "/audit/proofs/consistency"


def segment(value: str | int) -> str:
    """One path segment holding ``value``, whatever characters it has."""
    return quote(str(value), safe="")


# --- a namespace and what it holds --------------------------------------------------------


def namespace(ns: str) -> str:
    return f"{NAMESPACES}/{segment(ns)}"


def namespace_keys(ns: str) -> str:
    return namespace(ns) + "/keys"


def namespace_key(ns: str, name: str) -> str:
    return f"{namespace_keys(ns)}/{segment(name)}"


def require_signature(ns: str) -> str:
    return namespace(ns) + "/require-signature"


def namespace_policy(ns: str) -> str:
    return namespace(ns) + "/policy"


def policy_test(ns: str) -> str:
    return namespace(ns) + "/policy/test"


def approvals(ns: str) -> str:
    return namespace(ns) + "/approvals"


def namespace_deployments(ns: str) -> str:
    return namespace(ns) + "/deployments"


def retention(ns: str) -> str:
    return namespace(ns) + "/retention"


def webhooks(ns: str) -> str:
    """A namespace's webhooks; ``*``: those of every namespace."""
    return namespace(ns) + "/webhooks"


def namespace_audit_entries(ns: str) -> str:
    return namespace(ns) + AUDIT_ENTRIES


def missing_blobs(ns: str) -> str:
    return namespace(ns) + "/blobs/missing"


def blob(ns: str, digest: str) -> str:
    return f"{namespace(ns)}/blobs/{segment(digest)}"


def uploads(ns: str) -> str:
    return namespace(ns) + "/uploads"


def upload(ns: str, session_id: str) -> str:
    return f"{uploads(ns)}/{segment(session_id)}"


def finish_upload(ns: str, session_id: str) -> str:
    return upload(ns, session_id) + "/finish"


# --- a model and its versions ---------------------------------------------------------------


def namespace_models(ns: str) -> str:
    """Where a namespace's models are created."""
    return f"{MODELS}/{segment(ns)}"


def model(ns: str, name: str) -> str:
    return f"{namespace_models(ns)}/{segment(name)}"


def model_versions(ns: str, name: str) -> str:
    return model(ns, name) + VERSIONS


def model_imports(ns: str, name: str) -> str:
    """Where a version is imported from a source the server fetches."""
    return f"{model(ns, name)}/imports"


def model_tag(ns: str, name: str, key: str) -> str:
    return f"{model(ns, name)}/tags/{segment(key)}"


def model_policy(ns: str, name: str) -> str:
    return model(ns, name) + "/policy"


def aliases(ns: str, name: str) -> str:
    return model(ns, name) + "/aliases"


def alias(ns: str, name: str, alias_name: str) -> str:
    return f"{aliases(ns, name)}/{segment(alias_name)}"


def rollback(ns: str, name: str, alias_name: str) -> str:
    return alias(ns, name, alias_name) + "/rollback"


def alias_history(ns: str, name: str) -> str:
    return model(ns, name) + "/alias-history"


def version(ns: str, name: str, selector: str | int) -> str:
    """A version by ``selector``: its number, ``latest`` or ``@alias``."""
    return f"{model_versions(ns, name)}/{quote(str(selector), safe='@')}"


def version_tag(ns: str, name: str, selector: str | int, key: str) -> str:
    return f"{version(ns, name, selector)}/tags/{segment(key)}"


def promote(ns: str, name: str, selector: str | int) -> str:
    return version(ns, name, selector) + "/promote"


def validations(ns: str, name: str, selector: str | int) -> str:
    return version(ns, name, selector) + "/validations"


def rerun_validation(ns: str, name: str, selector: str | int, validation: str) -> str:
    return f"{validations(ns, name, selector)}/{segment(validation)}/rerun"


def scan_waivers(ns: str, name: str, selector: str | int) -> str:
    return version(ns, name, selector) + "/scan/waivers"


def version_deployments(ns: str, name: str, selector: str | int) -> str:
    return version(ns, name, selector) + "/deployments"


def selector_of(ref: Reference) -> str:
    """The selector of the version ``ref`` names: ``3``, ``@champion`` or ``latest``."""
    if ref.number is not None:
        return str(ref.number)
    return f"@{ref.alias}" if ref.alias else "latest"


def model_of(ref: Reference) -> str:
    return model(ref.namespace, ref.model)


def version_of(ref: Reference) -> str:
    return version(ref.namespace, ref.model, selector_of(ref))


# --- people, tokens, approvals, webhooks ----------------------------------------------------


def token(token_id: str) -> str:
    return f"{TOKENS}/{segment(token_id)}"


def principal(name: str) -> str:
    return f"{PRINCIPALS}/{segment(name)}"


def principal_roles(name: str, ns: str) -> str:
    """A principal's roles in namespace ``ns`` (``*``: every namespace)."""
    return f"{principal(name)}/roles/{segment(ns)}"


def principal_role(name: str, ns: str, role: str) -> str:
    return f"{principal_roles(name, ns)}/{segment(role)}"


def approval(request_id: int, verdict: str) -> str:
    """Vote on an approval request: ``verdict`` is ``approve`` or ``reject``."""
    return f"/approvals/{segment(request_id)}/{segment(verdict)}"


def webhook(webhook_id: int) -> str:
    return f"/webhooks/{segment(webhook_id)}"


def enable_webhook(webhook_id: int) -> str:
    return webhook(webhook_id) + "/enable"


def try_webhook(webhook_id: int) -> str:
    return webhook(webhook_id) + "/test"


def webhook_deliveries(webhook_id: int) -> str:
    return webhook(webhook_id) + "/deliveries"


def replay_delivery(delivery_id: int) -> str:
    return f"/deliveries/{segment(delivery_id)}/replay"
