"""One typed settings model: environment over TOML over defaults, bad values refused clearly."""

from __future__ import annotations

import pydantic
import pytest

from tributary.settings import load_settings


def test_toml_file_then_environment_wins(tmp_path, monkeypatch):
    config = tmp_path / "tributary.toml"
    config.write_text('public_host = "stream.example.org"\n[live]\npart_target = 0.25\nreconnect_grace = 30\n')
    monkeypatch.setenv("TRIBUTARY_LIVE__RECONNECT_GRACE", "5")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/tributary")
    settings = load_settings(config)
    assert settings.public_host == "stream.example.org"
    assert settings.live.part_target == 0.25
    assert settings.live.reconnect_grace == 5  # the environment wins over the file
    assert settings.database_url == "postgresql://db.example/tributary"
    assert settings.rtmp_url == "rtmp://stream.example.org:1935/live"


def test_bad_values_and_missing_file_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTARY_LIVE__PART_TARGET", "-1")
    with pytest.raises(pydantic.ValidationError, match="part_target"):
        load_settings()
    monkeypatch.delenv("TRIBUTARY_LIVE__PART_TARGET")
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text("[live]\npart_targte = 0.3\n")
    with pytest.raises(pydantic.ValidationError, match="part_targte"):
        load_settings(typo)
