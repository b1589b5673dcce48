"""Tags: free-form key/value labels on models and on versions (the key is in the URL)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cairn.errors import InvalidName
from cairn.wire.base import Refused, Request


class TagValue(Request):
    value: str = Field(examples=["reviewed"])


# Tags given in a body along with other fields (``{"team": "risk"}``): a tag that is not text
# answers ``invalid_name``, as the services' check of its key and bounds does
# (``domain.names.check_tag``), whatever the body answers for its other fields.
Tags = dict[str, Annotated[str, Refused(InvalidName)]]
