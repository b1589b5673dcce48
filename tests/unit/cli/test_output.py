"""``--json`` prints what the server answered: an SDK record read from the server's JSON and
printed by the CLI is the same JSON, times included (orjson and pydantic do not spell every
time alike, and scripts compare the text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from cairn.api.bodies import ok
from cairn.cli.output import emit_json, moment, plain, table_time
from cairn.client.records import Pulled, SignatureCheck
from cairn.wire.namespaces import Namespace
from cairn.wire.versions import Completeness, FileEntry, Version

TIMES = [
    datetime(2026, 3, 3, 14, 0, 12, tzinfo=UTC),  # no microseconds: orjson writes none
    datetime(2026, 3, 3, 14, 0, 12, 500000, tzinfo=UTC),
    datetime(2026, 3, 3, 14, 0, 12, 1, tzinfo=UTC),
    datetime(2026, 3, 3, 14, 0, 12, tzinfo=timezone(timedelta(hours=2))),
]


def _version(when: datetime, *, files: bool) -> Version:
    return Version(
        namespace="risk",
        model="fraud",
        number=3,
        ref="risk/fraud:3",
        manifest_digest="sha256:" + "a" * 64,
        size=2**40,
        file_count=1,
        state="registered",
        description="naïve — bayes ✓",
        author="alice",
        tags={"team": "risk"},
        aliases=["champion"],
        metrics={"auc": 0.93, "tiny": 1e-7, "whole": 1.0, "huge": 1e16},
        params={"lr": "0.01"},
        provenance={"code": {"commit": "abc", "dirty": False}, "n": 2**62, "x": None},
        input_output_schema={"inputs": [{"name": "age", "type": "long"}]},
        completeness=Completeness(score=0.5, missing=["params"]),
        created_at=when,
        updated_at=when + timedelta(microseconds=250),
        files=[FileEntry(path="weights.bin", size=2**40, digest="sha256:" + "a" * 64)]
        if files
        else None,
        validations={"scan": "clean"},
    )


def _namespace(when: datetime) -> Namespace:
    return Namespace(
        name="risk",
        description="",
        required_fields=None,
        require_signature=False,
        created_at=when,
    )


def _through_the_sdk(model: BaseModel) -> tuple[Any, BaseModel]:
    """What the server writes for ``model`` (as httpx hands it to the SDK), and the SDK's
    record read from it."""
    answered = json.loads(bytes(ok(model).body))
    return answered, type(model).model_validate(answered)


@pytest.mark.parametrize("when", TIMES, ids=str)
@pytest.mark.parametrize(
    "model",
    [
        lambda when: _version(when, files=True),
        lambda when: _version(when, files=False),
        _namespace,
    ],
    ids=["version", "version-without-files", "namespace"],
)
def test_a_record_prints_as_the_json_the_server_wrote(model: Any, when: datetime) -> None:
    answered, record = _through_the_sdk(model(when))
    assert plain(record) == answered
    assert plain([record, {"nested": record}]) == [answered, {"nested": answered}]
    printed = CliRunner().invoke(_print, obj=record)
    assert printed.output == json.dumps(answered, indent=2, sort_keys=True) + "\n"


def test_a_version_prints_its_schema_under_its_wire_name_and_no_absent_files() -> None:
    answered, record = _through_the_sdk(_version(TIMES[0], files=False))
    assert "schema" in plain(record) and "input_output_schema" not in plain(record)
    assert "files" not in answered and "files" not in plain(record)


def test_times_are_written_as_the_server_writes_them() -> None:
    assert moment(TIMES[0]) == "2026-03-03T14:00:12Z"
    assert moment(TIMES[1]) == "2026-03-03T14:00:12.500000Z"
    assert table_time(TIMES[1]) == "2026-03-03T14:00:12"


def test_the_sdks_own_records_print_as_their_fields() -> None:
    answered, version = _through_the_sdk(_version(TIMES[1], files=True))
    assert isinstance(version, Version)
    check = SignatureCheck("verified", "sha256:" + "b" * 64, "ok")
    assert plain(Pulled(version, check)) == {
        "version": answered,
        "signature_check": {"status": "verified", "signer": "sha256:" + "b" * 64, "message": "ok"},
    }


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        plain(object())


@click.command()
@click.pass_obj
def _print(record: BaseModel) -> None:
    emit_json(record)
