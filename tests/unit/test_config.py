"""Settings are validated at start-up, and a wrong one is named in the error."""

from pathlib import Path

import pytest

from cairn.config import load_settings
from cairn.errors import ConfigError


def test_the_embedded_default_keeps_everything_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'cairn.db'}"
    assert settings.effective_blob_url == (tmp_path / "blobs").as_uri()


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAIRN_PORT", "9123")
    monkeypatch.setenv("CAIRN_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.port == 9123
    assert settings.data_dir == tmp_path


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CAIRN_PORT", "eighty"),
        ("CAIRN_PORT", "70000"),
        ("CAIRN_WORKERS", "0"),
        ("CAIRN_ANONYMOUS_READ", "sometimes"),
        ("CAIRN_DATABASE_URL", "  "),
        ("CAIRN_MAX_JSON_BYTES", "10"),
        ("CAIRN_IMPORT_ALLOW", "https://example.com/models"),
        ("CAIRN_IMPORT_ALLOW", "s3://"),
        ("CAIRN_IMPORT_MAX_BYTES", "0"),
    ],
)
def test_a_bad_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.message.startswith(variable + ":")
