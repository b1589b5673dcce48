"""Tags: free-form key/value labels on models and on versions (the key is in the URL)."""

from __future__ import annotations

from pydantic import Field

from cairn.wire.base import Request


class TagValue(Request):
    value: str = Field(examples=["reviewed"])
