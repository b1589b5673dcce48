"""The registry: every service, wired over one database and one blob store."""

from __future__ import annotations

from datetime import timedelta

from cairn.config import Settings
from cairn.domain.references import DEFAULT_NAMESPACE
from cairn.services.aliases import AliasService
from cairn.services.auth import SYSTEM
from cairn.services.blobs import BlobService
from cairn.services.models import ModelService, NamespaceService
from cairn.services.uow import Database
from cairn.services.versions import VersionService
from cairn.storage.blobs import BlobStore, open_blob_store
from cairn.storage.sql import migrate
from cairn.storage.sql.engine import open_engine

STALE_WRITE_SECONDS = 6 * 3600


class Registry:
    def __init__(self, settings: Settings, database: Database, blob_store: BlobStore) -> None:
        self.settings = settings
        self.db = database
        self.blob_store = blob_store
        pages = (settings.page_size_default, settings.page_size_max)
        self.namespaces = NamespaceService(database)
        self.models = ModelService(database, *pages)
        self.versions = VersionService(database, *pages)
        self.aliases = AliasService(database)
        self.blobs = BlobService(
            database, blob_store, timedelta(seconds=settings.upload_ttl_seconds)
        )

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Registry:
        """Connect to the configured stores; on the embedded default, create and migrate them."""
        if settings.uses_data_dir:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_engine(settings.effective_database_url)
        if migrate_schema:
            migrate.upgrade(engine)
        registry = cls(settings, Database(engine), open_blob_store(settings.effective_blob_url))
        registry.namespaces.ensure(SYSTEM, DEFAULT_NAMESPACE)
        return registry

    def maintain(self) -> dict[str, int]:
        """Housekeeping every server process runs now and then: drop expired upload sessions
        and the leftovers of interrupted writes. Safe to run from several processes at once."""
        sessions = self.blobs.purge_expired(SYSTEM)
        stale = self.blob_store.purge_stale(STALE_WRITE_SECONDS)
        return {"upload_sessions": sessions, "stale_writes": stale}

    def close(self) -> None:
        self.db.engine.dispose()
