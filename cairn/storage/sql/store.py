"""The metadata store: one connection in one transaction, with a row class per noun.

All of Cairn's SQL lives in this package; the services see only these methods and records.
"""

from __future__ import annotations

from sqlalchemy import Connection

from cairn.storage.sql.aliases import AliasRows
from cairn.storage.sql.blobs import BlobRows, UploadRows
from cairn.storage.sql.governance import ApprovalRows, DeploymentRows, PolicyRows
from cairn.storage.sql.identity import IdentityRows
from cairn.storage.sql.jobs import JobRows
from cairn.storage.sql.journal import JournalRows
from cairn.storage.sql.lineage import LineageRows
from cairn.storage.sql.models import ModelRows, NamespaceRows
from cairn.storage.sql.oci import OciRows
from cairn.storage.sql.retention import RetentionPlanRows
from cairn.storage.sql.sessions import SessionRows
from cairn.storage.sql.tracking import TrackingRows
from cairn.storage.sql.trust import KeyRows, ValidationRows
from cairn.storage.sql.versions import VersionRows
from cairn.storage.sql.webhooks import WebhookRows


class MetadataStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.namespaces = NamespaceRows(conn)
        self.models = ModelRows(conn)
        self.versions = VersionRows(conn)
        self.aliases = AliasRows(conn)
        self.blobs = BlobRows(conn)
        self.uploads = UploadRows(conn)
        self.journal = JournalRows(conn)
        self.identity = IdentityRows(conn)
        self.keys = KeyRows(conn)
        self.validations = ValidationRows(conn)
        self.policies = PolicyRows(conn)
        self.approvals = ApprovalRows(conn)
        self.deployments = DeploymentRows(conn)
        self.webhooks = WebhookRows(conn)
        self.jobs = JobRows(conn)
        self.oci = OciRows(conn)
        self.tracking = TrackingRows(conn)
        self.lineage = LineageRows(conn)
        self.retention = RetentionPlanRows(conn)
        self.sessions = SessionRows(conn)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name
