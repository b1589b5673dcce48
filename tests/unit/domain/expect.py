"""An assertion shared by the domain tests: the *exact* error class, with its own code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cairn.errors import CairnError


@contextmanager
def raises_exactly(cls: type[CairnError]) -> Iterator[pytest.ExceptionInfo[CairnError]]:
    """Like ``pytest.raises``, but a subclass or a parent of ``cls`` does not pass."""
    with pytest.raises(CairnError) as info:
        yield info
    assert type(info.value) is cls, f"raised {type(info.value).__name__}, not {cls.__name__}"
    assert info.value.code == cls.__dict__["code"]
