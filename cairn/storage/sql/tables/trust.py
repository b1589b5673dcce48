"""Who may do what and what was done: principals, role grants, tokens, the audit log and its signed
checkpoints, namespaces' signing keys, and the validations recorded on versions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)

from cairn.storage.sql.tables.base import Json, UTCDateTime, created, metadata

# Entries are appended in the mutation's transaction with the hash of their canonical form;
# the sequencer later gives them their place in the Merkle tree (``leaf_index``, gapless, in the
# order it finds them committed), so concurrent writers never wait on one another for it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("leaf_hash", Text, nullable=False),
    Column("leaf_index", BigInteger, nullable=True, unique=True),
    # The digests of the records the mutation left behind (``domain.record_state``); NULL in
    # entries written before they were recorded.
    Column("records", Json, nullable=True),
    # The key of the namespace whose readers may read the entry; NULL for the entries above
    # namespaces (``domain.audit.entry_namespace``). A slice reads in log order through it.
    Column("namespace", Text, nullable=True),
    Index("ix_audit_log_subject", "subject"),
    Index("ix_audit_log_namespace_leaf_index", "namespace", "leaf_index"),
)

# Signed tree heads: the size of the log and its Merkle root, signed with the server's
# Ed25519 key (kept outside the database, so whoever can rewrite rows cannot re-sign).
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False, unique=True),
    Column("root", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

# Users and service accounts. Nobody has a password: callers present tokens.
principals = Table(
    "principals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),  # user | service
    Column("description", Text, nullable=False, default=""),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_by", Text, nullable=False),
    created(),
)

# The roles a principal holds in a namespace, or everywhere (namespace "*"): one row per role,
# so a principal may be both writer and approver in one namespace.
role_grants = Table(
    "role_grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("principal_id", ForeignKey("principals.id"), nullable=False),
    Column("namespace", Text, nullable=False),
    Column("role", Text, nullable=False),
    UniqueConstraint("principal_id", "namespace", "role"),
)

# API tokens: ``cairn_<token_id>_<secret>``; only the SHA-256 of the secret is kept. A token's
# scopes (namespace -> a list of role names; a single name in rows written before role sets)
# narrow what its principal may do; they never widen it.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_id", Text, nullable=False, unique=True),
    Column("principal_id", ForeignKey("principals.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_by", Text, nullable=False),
    created(),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_tokens_principal_id", "principal_id"),
)

# Signed-in browser sessions of the pages: the SHA-256 of the cookie's secret, the token that
# signed in (its revocation, expiry or a disabled principal ends the session with it) and when
# the session ends. Signing out deletes the row.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("secret_hash", Text, nullable=False, unique=True),
    Column("token_id", ForeignKey("tokens.token_id"), nullable=False),
    created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

# Public keys a namespace trusts to sign its models (ECDSA, PEM), by name.
namespace_keys = Table(
    "namespace_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace_id", ForeignKey("namespaces.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("added_by", Text, nullable=False),
    created(),
    UniqueConstraint("namespace_id", "name"),
    UniqueConstraint("namespace_id", "fingerprint"),
)

# Results about a version: Cairn's built-in validations (signature, scan) and, later, CI's.
# Every run is a new row, so the history is kept; the newest row of a name is the current
# result. A row with status "pending" is work waiting for a background worker (a scan of a
# large version).
validations = Table(
    "validations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("details", Json, nullable=False),
    Column("created_by", Text, nullable=False),
    created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_validations_version_id_name", "version_id", "name"),
    Index("ix_validations_status", "status"),
)
