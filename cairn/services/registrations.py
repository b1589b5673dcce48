"""What every registration shares, whichever surface it came through.

``VersionService.register`` is the one registration core. A surface hands it a
``Registration`` (``cairn.domain.registrations``) and, when it must do more in the same
transaction, a ``RegistrationHook`` whose answer comes back in ``Registered``: OCI stores the
pushed manifest bytes and moves the pushed tag, MLflow notes the version on the logged model it
came from. The model a registration lands in and the blobs it needs are found by the two
functions below, which OCI's pushes by digest use too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cairn.domain.names import check_name
from cairn.domain.records import Model, Version
from cairn.errors import MissingBlobs, SizeMismatch
from cairn.services.models import create_model
from cairn.services.resolve import get_namespace, model_key, namespace_key
from cairn.services.uow import UnitOfWork
from cairn.storage.sql.store import MetadataStore

T = TypeVar("T")


class RegistrationHook(ABC, Generic[T]):
    """What a surface does inside a registration's transaction, so that it commits with the
    version or not at all, and the answer the surface needs from it."""

    def link_blobs(self, uow: UnitOfWork) -> None:
        """Before the namespace's blobs are checked: link into the namespace the blobs that
        another of its records vouches for. Nothing, unless a surface says otherwise."""

    @abstractmethod
    def within(self, uow: UnitOfWork, model: Model, version: Version) -> T:
        """After the version is written (or found again by its idempotency key): the
        surface's own writes, and its answer."""


@dataclass(frozen=True, slots=True)
class Registered(Generic[T]):
    version: Version
    created: bool  # False: the idempotency key found the version this request registered
    answer: T  # the hook's


def model_for_registration(uow: UnitOfWork, namespace: str, model: str) -> Model:
    """The model, locked for this transaction (created first if it does not exist)."""
    name = check_name(model, kind="model")
    keys = namespace_key(namespace), model_key(name)
    found = uow.store.models.get(*keys, lock=True)
    if found is not None:
        return found
    # Concurrent first registrations queue on the namespace's row; all but the first then
    # find the model the first one created, instead of failing to create it again.
    ns = get_namespace(uow.store, namespace, lock=True)
    found = uow.store.models.get(*keys, lock=True)
    if found is not None:
        return found
    model_id = create_model(uow, ns.name, name, {})
    return uow.store.models.get_by_id(model_id)


class Blob(Protocol):
    """A blob a manifest names: a file of a version, a layer or config of an OCI manifest."""

    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int: ...


def require_blobs(store: MetadataStore, namespace: str, wanted: Sequence[Blob]) -> None:
    """Every blob ``wanted`` names is held by ``namespace``, at the size it says.

    Only blobs the namespace holds count: naming another namespace's digest, without uploading
    its bytes here, must not make them readable through this one (DESIGN §2.11). The blob rows
    stay held until commit, so a garbage collection cannot take them between this check and
    the write that refers to them (PostgreSQL; SQLite has one writer anyway)."""
    known = store.blobs.held(namespace_key(namespace), (b.digest for b in wanted), hold=True)
    missing = sorted({b.digest for b in wanted if b.digest not in known})
    if missing:
        raise MissingBlobs(
            f"{len(missing)} blobs this manifest names have not been uploaded to this namespace",
            missing=missing[:100],
        )
    for b in wanted:
        if known[b.digest] != b.size:
            path = getattr(b, "path", None)  # a file's, to say which one
            raise SizeMismatch(
                f"{path or 'the manifest'}: declared {b.size} bytes, "
                f"but blob {b.digest} has {known[b.digest]}",
                digest=b.digest,
                **({"path": path} if path else {}),
            )
