"""``[webhooks]`` settings: endpoints are http(s) URLs, listed once, and need a signing secret
of at least 32 characters; read from the environment like every section."""

from __future__ import annotations

import pydantic
import pytest

from tributary.settings import WebhookSettings, load_settings
from tests.webhooks.receivers import SECRET


def test_defaults_send_nothing_and_need_no_secret():
    settings = WebhookSettings()
    assert settings.urls == [] and settings.secret is None


def test_urls_and_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIBUTARY_WEBHOOKS__URLS", '["https://hooks.example/tributary?token=abc", "http://10.0.0.5:9000/in"]')
    monkeypatch.setenv("TRIBUTARY_WEBHOOKS__SECRET", SECRET)
    monkeypatch.setenv("TRIBUTARY_WEBHOOKS__MAX_ATTEMPTS", "5")
    webhooks = load_settings().webhooks
    assert [str(url) for url in webhooks.urls] == [
        "https://hooks.example/tributary?token=abc", "http://10.0.0.5:9000/in"]
    assert webhooks.secret is not None and webhooks.secret.get_secret_value() == SECRET
    assert SECRET not in repr(webhooks)
    assert webhooks.max_attempts == 5


def test_urls_without_a_secret_are_refused():
    with pytest.raises(pydantic.ValidationError, match="need a secret"):
        WebhookSettings(urls=["https://hooks.example/in"])


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example/in", "hooks.example/in", "http://", "javascript:alert(1)",
     "https://exa mple.org/", "", "http://[::1/in", "https://" + "a" * 3000 + ".example/"],
)
def test_bad_urls_are_refused(url):
    with pytest.raises(pydantic.ValidationError):
        WebhookSettings(urls=[url], secret=SECRET)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"urls": ["https://hooks.example/in"], "secret": "short"}, "at least 32"),
        ({"urls": ["https://hooks.example/in", "https://hooks.example/in"], "secret": SECRET}, "twice"),
        ({"backoff_base": 60, "backoff_cap": 30}, "backoff_cap"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"concurrency": 0}, "concurrency"),
        ({"urls": [f"https://h{i}.example/" for i in range(21)], "secret": SECRET}, "urls"),
        ({"url": ["https://hooks.example/in"]}, "url"),  # a typo is an error, not ignored
    ],
)
def test_bad_values_are_refused(fields, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        WebhookSettings(**fields)
