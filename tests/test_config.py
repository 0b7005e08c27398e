"""Settings: environment, env file, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from centralita.config import Settings, load_settings


def test_defaults_put_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CENTRALITA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CENTRALITA_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'centralita.db'}"
    assert settings.is_sqlite and settings.redis_url == ""


def test_environment_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "CENTRALITA_DATABASE_URL=postgresql+asyncpg://u@db/c\nCENTRALITA_PORT=9000\n"
        "CENTRALITA_SECRET_KEY=s3cret\n"
    )
    monkeypatch.setenv("CENTRALITA_PORT", "9100")  # the environment wins over the file
    settings = load_settings(env_file)
    assert settings.database_url == "postgresql+asyncpg://u@db/c"
    assert settings.port == 9100
    assert settings.secret_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_missing_file_and_bad_values(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.env")
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="staging")
