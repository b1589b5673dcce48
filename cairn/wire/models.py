"""Models: the named, versioned things a namespace holds."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from cairn.domain import records
from cairn.domain.metadata import CARD_MAX, DESCRIPTION_MAX, MAX_ENTRIES
from cairn.wire.base import Name, Record, Request
from cairn.wire.tags import Tags


class Model(Record):
    namespace: str
    name: str
    ref: str = Field(description="``namespace/name``: how references name the model.")
    description: str
    card: str = Field(description="The model card (Markdown).")
    owner: str = Field(description="Who answers for the model: a team or a person.")
    tags: dict[str, str]
    aliases: dict[str, int] = Field(
        description="Each alias of the model and the number of the version it names."
    )
    latest_version: int | None = Field(
        description="The number of the newest version; null before the first."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: records.Model) -> Model:
        return cls(
            namespace=m.namespace,
            name=m.name,
            ref=m.ref,
            description=m.description,
            card=m.card,
            owner=m.owner,
            tags=m.tags,
            aliases=m.aliases,
            latest_version=m.latest_number,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class ModelFields(Request):
    """The fields a person writes about a model."""

    description: str | None = Field(
        None, max_length=DESCRIPTION_MAX, examples=["Card-fraud scores for the payments team."]
    )
    card: str | None = Field(
        None, max_length=CARD_MAX, description="The model card (Markdown).", examples=["# Fraud"]
    )
    owner: str | None = Field(None, max_length=DESCRIPTION_MAX, examples=["ml-risk"])
    tags: Tags | None = Field(None, max_length=MAX_ENTRIES, examples=[{"team": "risk"}])


class ModelChanges(ModelFields):
    """What to change on a model: a field left out (or null) stays as it is; each tag given
    is set (added or replaced), and the others stay."""


class NewModel(ModelFields):
    """A model to create in the namespace (empty: its versions come by registration). A field
    left out (or null) is empty."""

    name: Name = Field(examples=["fraud"])
