"""Settings: every ``CAIRN_*`` variable, declared once, validated when the server starts.

Built by ``load_settings()`` at start-up, never at import. The README's settings table is
checked against this class by a test, so the two cannot drift.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cairn.errors import ConfigError
from cairn.locations import ADMIN_TOKEN_FILE, default_data_dir


class Settings(BaseSettings):
    """The registry server's settings."""

    model_config = SettingsConfigDict(env_prefix="CAIRN_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the embedded default: SQLite database and blobs/.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default "
        "sqlite:///<data_dir>/cairn.db. PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    database_lock_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a write waits for a lock another transaction holds (PostgreSQL's "
        "lock_timeout, SQLite's busy timeout) before it is refused with 503 database_busy and "
        "Retry-After, having written nothing.",
    )
    database_statement_timeout_seconds: float = Field(
        default=0.0,
        ge=0,
        le=86400,
        description="PostgreSQL: how long one statement may run before it is cancelled (503 "
        "database_busy); 0: no limit.",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where blobs live: file:///path, s3://bucket/prefix or memory://; default "
        "file://<data_dir>/blobs.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 API endpoint (http[s]://host:port) of MinIO, Ceph RGW or another "
        "S3-compatible service; default AWS S3's for the region.",
    )
    s3_region: str | None = Field(
        default=None,
        description="S3 region; default the AWS configuration's (AWS_REGION, ~/.aws/config).",
    )
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key id; unset: the standard AWS credential chain (environment, "
        "~/.aws, instance or pod role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key, set with CAIRN_S3_ACCESS_KEY_ID."
    )
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        description="How requests name the bucket: path (host/bucket/key, what MinIO and Ceph "
        "RGW usually need), virtual (bucket.host/key) or auto.",
    )
    s3_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long one S3 request may take to answer before it is retried (4 "
        "tries in all, then storage_unavailable).",
    )
    s3_sse: Literal["AES256", "aws:kms"] | None = Field(
        default=None,
        description="Server-side encryption asked for on every object Cairn writes: AES256 "
        "(SSE-S3, keys the service manages) or aws:kms (SSE-KMS); unset: the bucket's default.",
    )
    s3_sse_kms_key_id: str | None = Field(
        default=None,
        description="The KMS key (id, alias or ARN) of CAIRN_S3_SSE=aws:kms; unset: the "
        "service's own key for S3 (aws/s3).",
    )
    s3_presign_seconds: int = Field(
        default=0,
        ge=0,
        le=7 * 24 * 3600,
        description="Lifetime of the presigned S3 URLs downloads may be redirected to; "
        "0: the server streams every download itself.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the server listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="Server processes.")
    tls_cert_file: Path | None = Field(
        default=None,
        description="The certificate chain (PEM) the server presents; with "
        "CAIRN_TLS_KEY_FILE the server speaks HTTPS only.",
    )
    tls_key_file: Path | None = Field(
        default=None, description="The private key (PEM) of CAIRN_TLS_CERT_FILE."
    )
    tls_key_password: SecretStr | None = Field(
        default=None, description="The password of CAIRN_TLS_KEY_FILE, if it is encrypted."
    )
    public_url: str | None = Field(
        default=None, description="URL clients use to reach the server, if not http://host:port."
    )
    max_json_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest JSON request body accepted."
    )
    max_blob_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="Largest blob accepted in a single-request upload (larger: upload sessions).",
    )
    upload_ttl_seconds: int = Field(
        default=24 * 3600, ge=60, description="An upload session untouched this long is purged."
    )
    gc_grace_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 365,
        description="Garbage collection (background and cairn gc) spares blobs uploaded within "
        "this many hours, so an upload not yet registered keeps its bytes.",
    )
    gc_interval_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 365,
        description="How often the servers collect garbage by themselves (one process runs each "
        "round); 0 turns it off, leaving `cairn gc`.",
    )
    retention_grace_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 366,
        description="A deletion retention planned (its dry run, in the audit log) is carried out "
        "by a round at least this many hours later, if the version is still eligible; a "
        "policy's retention.grace_hours overrides it.",
    )
    page_size_default: int = Field(default=100, ge=1, le=1000, description="Default page size.")
    page_size_max: int = Field(default=1000, ge=1, le=10000, description="Largest page size.")
    allowed_hosts: str = Field(
        default="",
        description="Host names the server answers to, comma-separated (* for any); the "
        "loopback names, CAIRN_HOST and CAIRN_PUBLIC_URL's host are always allowed.",
    )
    cors_origins: str = Field(
        default="",
        description="Origins allowed to call the API from a browser, comma-separated; "
        "empty: CORS off.",
    )
    anonymous_read: bool = Field(
        default=False,
        description="Let callers without a token read (every namespace); they never write.",
    )
    metrics_public: bool = Field(
        default=True,
        description="Serve /metrics without a token (for Prometheus); false: admins only.",
    )
    token_days_default: int = Field(
        default=90, ge=1, le=3650, description="Lifetime of a new API token, in days."
    )
    token_days_max: int = Field(
        default=365, ge=1, le=3650, description="Longest lifetime a token may be given, in days."
    )
    mlflow_namespace: str = Field(
        default="default",
        description="The namespace that holds the models registered through the MLflow REST "
        "API (and whose permissions govern MLflow's tracking routes).",
    )
    mlflow_max_artifact_bytes: int = Field(
        default=100 * 2**30,
        ge=1,
        description="Largest file the MLflow client may upload (it sends each file in one "
        "request, streamed to the blob store).",
    )
    scan_inline_bytes: int = Field(
        default=64 * 2**20,
        ge=0,
        description="Versions up to this size are scanned while they register; larger ones in "
        "the background (their scan shows as pending until done).",
    )
    approval_ttl_hours: int = Field(
        default=168,
        ge=1,
        le=8760,
        description="An approval counts, and an approval request stays open, this many hours.",
    )
    webhook_key_file: Path | None = Field(
        default=None,
        description="The key that encrypts webhook secrets at rest; default "
        "<data_dir>/webhook-key, created on first start. Every server process needs the same one.",
    )
    webhook_allow: str = Field(
        default="",
        description="Addresses or networks webhooks may reach although the SSRF guard refuses "
        "them (loopback, private, link-local), comma-separated, e.g. 10.0.0.0/8.",
    )
    import_allow: str = Field(
        default="",
        description="Where models may be imported from: s3://bucket/prefix prefixes, "
        "comma-separated, fetched with the CAIRN_S3_* credentials. Empty: no imports.",
    )
    import_max_bytes: int = Field(
        default=64 << 30,
        gt=0,
        le=1 << 50,
        description="The most bytes one import may fetch (its files together).",
    )
    webhook_max_attempts: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Attempts per webhook delivery before it is given up (back-off between).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long a webhook receiver has to answer one delivery attempt.",
    )
    webhook_disable_after: int = Field(
        default=50,
        ge=1,
        le=100000,
        description="A webhook whose deliveries fail this many times in a row is disabled.",
    )
    registry_token_key_file: Path | None = Field(
        default=None,
        description="The key that signs the short-lived tokens /v2/token hands OCI clients; "
        "default <data_dir>/registry-token-key, created on first start. Every server process "
        "needs the same one.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key that signs audit checkpoints (PEM); default "
        "<data_dir>/audit-key, created on first start, replaced by cairn audit rotate-key. "
        "Every server process needs the same file, in a folder they all see.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level."
    )

    @field_validator("webhook_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item:
                ipaddress.ip_network(item, strict=False)  # ValueError names the bad one
        return value

    @field_validator("import_allow")
    @classmethod
    def _import_prefixes(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item and (not item.startswith("s3://") or not item[5:].split("/")[0]):
                raise ValueError(f"{item!r} is not an s3://bucket/prefix URI")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator(
        "database_url",
        "blob_url",
        "public_url",
        "s3_region",
        "s3_access_key_id",
        "s3_sse_kms_key_id",
    )
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def serves_tls(self) -> bool:
        return self.tls_cert_file is not None or self.tls_key_file is not None

    @property
    def effective_public_url(self) -> str:
        scheme = "https" if self.serves_tls else "http"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit-key"

    @property
    def effective_registry_token_key_file(self) -> Path:
        return self.registry_token_key_file or self.data_dir / "registry-token-key"

    @property
    def effective_webhook_key_file(self) -> Path:
        return self.webhook_key_file or self.data_dir / "webhook-key"

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / ADMIN_TOKEN_FILE

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'cairn.db'}"

    @property
    def effective_blob_url(self) -> str:
        return self.blob_url or (self.data_dir / "blobs").as_uri()

    @property
    def uses_data_dir(self) -> bool:
        return self.database_url is None or self.blob_url is None


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and ``overrides``); raise ``ConfigError`` naming the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CAIRN_" + str(first["loc"][0]).upper() if first["loc"] else "CAIRN_*"
        raise ConfigError(f"{name}: {first['msg']}", setting=name) from exc
