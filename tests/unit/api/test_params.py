"""The path parameters' stated rules are the services' own."""

from __future__ import annotations

from typing import get_args

from cairn.api.params import RoleName
from cairn.services.auth import Role


def test_the_roles_a_path_may_name_are_the_roles_there_are() -> None:
    assert set(get_args(get_args(RoleName)[0])) == {role.value for role in Role}
