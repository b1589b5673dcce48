"""The S3 endpoint the contract tests hold the S3 store to: one moto server per test run (per
xdist worker), each store on a prefix of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.s3_server import S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3_server(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()
