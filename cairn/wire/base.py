"""The bases of every body: requests are strict, responses are plain records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from cairn.domain.names import NAME_MAX
from cairn.errors import CairnError, InvalidName


class Request(BaseModel):
    """A request body. Strict: a field is the JSON type it says (``"1"`` is not a number,
    ``1`` is not ``true``), and a key the model does not name is refused rather than ignored,
    so that a misspelt field is an error and not a silent default."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Record(BaseModel):
    """A response body, built from a domain record by the model's ``of``."""

    model_config = ConfigDict(frozen=True)


T = TypeVar("T")


class Items(Record, Generic[T]):
    """A whole list, in one answer."""

    items: list[T]


class Page(Record, Generic[T]):
    """One page of a longer list: ask again with ``cursor=next_cursor`` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(
        description="The cursor of the next page; null on the last one."
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="The stable code of the condition (see the README's table).")
    message: str = Field(description="What went wrong, for a person.")
    details: dict[str, Any] = Field(
        description="Facts about this error: a field's path, a limit, a digest."
    )


class ErrorBody(BaseModel):
    """Every error Cairn's API answers has this one shape."""

    error: ErrorDetail


class MlflowErrorBody(BaseModel):
    """An error on MLflow's REST API, in MLflow's shape (``cairn.api.mlflow.errors``)."""

    error_code: str = Field(description="MLflow's code, e.g. RESOURCE_DOES_NOT_EXIST.")
    message: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The error a field's failed validation answers with, where one more precise than
    ``invalid_input`` names it: ``name: Annotated[str, Refused(InvalidName)]``."""

    error: type[CairnError]


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# A namespace, model, alias or key name as the services accept it (``cairn.domain.names``;
# upper case is folded to lower). The pattern is there for the document's readers and
# generators; a name that fails it answers ``invalid_name``, as the services would.
Name = Annotated[
    str,
    Refused(InvalidName),
    Field(pattern=NAME_PATTERN, max_length=NAME_MAX),
]
