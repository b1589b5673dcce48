"""The service container: every service of a Cairn server, wired over one database and one
blob store. Routes, the CLI's server and the tests reach the services through it."""

from __future__ import annotations

from datetime import timedelta

from cairn.config import Settings
from cairn.domain.imports import check_apart_from_store, parse_import_allow
from cairn.domain.references import DEFAULT_NAMESPACE
from cairn.domain.webhooks import parse_allow_list
from cairn.locations import SERVER_KEY_FILE
from cairn.services.aliases import AliasService
from cairn.services.audit import AuditService, KeyRing
from cairn.services.auth import SYSTEM
from cairn.services.blobs import BlobService
from cairn.services.builtin_validations import BuiltinValidations
from cairn.services.deployments import DeploymentService
from cairn.services.experiments import ExperimentService
from cairn.services.gc import GarbageCollector
from cairn.services.identity import IdentityService
from cairn.services.imports import ImportService
from cairn.services.keys import KeyService
from cairn.services.lifecycle import LifecycleService
from cairn.services.mlflow_models import MlflowModels
from cairn.services.mlflow_search import MlflowSearch
from cairn.services.models import ModelService, NamespaceService
from cairn.services.oci import OciPushes, OciRepositories, RegistryTokens
from cairn.services.retention import RetentionService
from cairn.services.run_data import RunDataService
from cairn.services.schedule import Schedule
from cairn.services.server_identity import ServerIdentity
from cairn.services.sessions import SessionService
from cairn.services.tracking import TrackingService
from cairn.services.uow import Database
from cairn.services.validations import ValidationService
from cairn.services.versions import VersionService
from cairn.services.waivers import WaiverService
from cairn.services.webhooks import SecretBox, WebhookService
from cairn.storage.blobs import BlobStore, open_blob_store
from cairn.storage.blobs.local import LocalBlobStore
from cairn.storage.blobs.memory import MemoryBlobStore
from cairn.storage.blobs.s3 import S3Options
from cairn.storage.imports import S3Source
from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine

STALE_WRITE_SECONDS = 6 * 3600
STALE_SCAN = timedelta(minutes=30)  # a claimed scan not finished by then is given back
GC_JOB = "gc"


class Services:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        blob_store: BlobStore,
        checkpoint_keys: KeyRing,
    ) -> None:
        self.settings = settings
        self.db = database
        self.blob_store = blob_store
        # Small writes may run where the request arrives (``api.running``) when all they
        # touch is local: an SQLite file, blobs on local disk (a registration reads the ones
        # it scans), one worker. Handing such a write to a worker thread costs more CPU than
        # the write itself; one that would wait for another writer goes to a thread after all.
        self.inline_writes = (
            database.inline_reads
            and settings.workers == 1
            and isinstance(blob_store, LocalBlobStore | MemoryBlobStore)
        )
        pages = (settings.page_size_default, settings.page_size_max)
        self.namespaces = NamespaceService(database)
        self.models = ModelService(database, *pages)
        self.builtin_validations = BuiltinValidations(
            database, blob_store, settings.scan_inline_bytes
        )
        self.versions = VersionService(database, self.builtin_validations, *pages)
        self.aliases = AliasService(database)
        self.identity = IdentityService(
            database, settings.token_days_default, settings.token_days_max
        )
        self.blobs = BlobService(
            database, blob_store, timedelta(seconds=settings.upload_ttl_seconds)
        )
        self.audit = AuditService(database, checkpoint_keys)
        self.sessions = SessionService(database, self.identity)
        self.oci = OciRepositories(database, self.blobs, blob_store)
        self.oci_pushes = OciPushes(database, self.versions)
        self.registry_tokens = RegistryTokens(
            self.identity, settings.effective_registry_token_key_file
        )
        self.server = ServerIdentity(settings.data_dir / SERVER_KEY_FILE)
        self.keys = KeyService(database)
        self.gc = GarbageCollector(database, blob_store)
        self.schedule = Schedule(database)
        self.lifecycle = LifecycleService(
            database, self.builtin_validations, timedelta(hours=settings.approval_ttl_hours)
        )
        self.validations = ValidationService(database, self.builtin_validations)
        self.waivers = WaiverService(database)
        self.deployments = DeploymentService(database)
        self.retention = RetentionService(database, settings.retention_grace_hours)
        self.tracking = TrackingService(database, blob_store, self.blobs, settings.mlflow_namespace)
        self.run_data = RunDataService(database, settings.mlflow_namespace)
        self.experiments = ExperimentService(database, settings.mlflow_namespace)
        allow = parse_import_allow(settings.import_allow)
        self.imports = ImportService(
            self.blobs,
            self.versions,
            S3Source(S3Options.from_settings(settings)) if allow else None,
            allow,
            settings.import_max_bytes,
        )
        self.mlflow = MlflowModels(
            settings.mlflow_namespace,
            self.models,
            self.versions,
            self.lifecycle,
            self.tracking,
            self.blobs,
            self.aliases,
            self.imports,
        )
        self.mlflow_search = MlflowSearch(self.mlflow, self.versions, self.tracking)
        self.webhooks = WebhookService(
            database,
            SecretBox(settings.effective_webhook_key_file),
            settings.webhook_max_attempts,
            settings.webhook_disable_after,
            settings.webhook_timeout_seconds,
            parse_allow_list(settings.webhook_allow),
        )

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Services:
        """Connect to the configured stores; on the embedded default, create and migrate them."""
        allow = parse_import_allow(settings.import_allow)
        check_apart_from_store(allow, settings.effective_blob_url)  # before anything is opened
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # keys and the admin token
        engine = open_engine(
            settings.effective_database_url,
            lock_timeout=settings.database_lock_timeout_seconds,
            statement_timeout=settings.database_statement_timeout_seconds,
        )
        if migrate_schema:
            migrate.upgrade(engine)
        keys = KeyRing.open(settings.effective_audit_key_file)
        services = cls(
            settings,
            Database(engine, lock_timeout=settings.database_lock_timeout_seconds),
            open_blob_store(settings.effective_blob_url, settings),
            keys,
        )
        services.namespaces.ensure(SYSTEM, DEFAULT_NAMESPACE)
        if settings.mlflow_namespace != DEFAULT_NAMESPACE:
            services.namespaces.ensure(SYSTEM, settings.mlflow_namespace)
        return services

    def maintain(self) -> dict[str, int]:
        """Housekeeping every server process runs now and then: drop expired upload sessions
        and the leftovers of interrupted writes. Safe to run from several processes at once."""
        sessions = self.blobs.purge_expired(SYSTEM)
        web_sessions = self.sessions.purge_expired()
        stale = self.blob_store.purge_stale(STALE_WRITE_SECONDS)
        self.builtin_validations.release_stale(STALE_SCAN)
        expired = self.lifecycle.expire_requests()
        retained = self.retention.apply_everywhere(SYSTEM)
        scanned = self.builtin_validations.work_pending()
        checkpoint = self.audit.sequence()
        collected = self.collect_garbage_when_due()
        return {
            "upload_sessions": sessions,
            "web_sessions": web_sessions,
            "stale_writes": stale,
            "scans": scanned,
            "expired_approval_requests": expired,
            "retention_actions": retained,
            "garbage_blobs": collected,
            "audit_size": checkpoint.size if checkpoint else 0,
        }

    def collect_garbage_when_due(self) -> int:
        """Collect garbage if this process wins the round due now (every
        ``CAIRN_GC_INTERVAL_HOURS``; 0: never); the number of blobs removed."""
        hours = self.settings.gc_interval_hours
        if not hours or not self.schedule.claim(SYSTEM, GC_JOB, timedelta(hours=hours)):
            return 0
        report = self.gc.collect(SYSTEM, grace=timedelta(hours=self.settings.gc_grace_hours))
        self.schedule.finished(SYSTEM, GC_JOB)
        return report.deleted

    def work(self) -> dict[str, int]:
        """The background work every server process does every few seconds: scan a version
        waiting for its scan, and sign a checkpoint of the audit log if it grew."""
        scanned = self.builtin_validations.work_pending(limit=1)
        checkpoint = self.audit.sequence()
        dispatched = self.webhooks.dispatch()
        sent = self.webhooks.send_due()
        return {
            "scans": scanned,
            "audit_size": checkpoint.size if checkpoint else 0,
            "events_dispatched": dispatched,
            "deliveries_attempted": sent,
        }

    def close(self) -> None:
        self.db.close()
