"""Settings forms speak to people: every built-in field has a written title and help, and
documentation links are links the server itself can answer."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alertgate.registry import BUILTIN_DISTRIBUTION, load_plugins
from alertgate.web.forms import setting_fields
from tests.core.web.browser.support import UiServer, running_ui
from tests.core.web.test_web import csrf_of, make_service, sign_in


def test_no_built_in_settings_field_has_a_generated_label() -> None:
    plugins = load_plugins(disabled=())
    checked = 0
    for slug, registered in plugins.types.items():
        if registered.plugin.distribution != BUILTIN_DISTRIBUTION:
            continue
        for f in setting_fields(slug, plugins.get_type(slug).settings_model):
            words = f.key.replace("_", " ")
            # pydantic's title (``Max Message Age Seconds``) and the form's own fallback.
            assert f.label not in (words.title(), words.capitalize()), (slug, f.key, f.label)
            assert "_" not in f.label, (slug, f.key, f.label)
            assert len(f.help) > 20, (slug, f.key, "needs help written for people")
            checked += 1
    assert checked > 50  # every AWS type's fields, the shared SNS ones included


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UiServer]:
    with running_ui(tmp_path, monkeypatch) as live:
        yield live


def test_docs_links_are_links_in_the_create_and_edit_forms(server: UiServer) -> None:
    service_id, _ = make_service(server, "acme", "payments")
    client = sign_in(server, server.new_token("acme"))
    new = client.get(f"/services/{service_id}/integrations/new").text
    assert '<a class="type-docs" href="/docs/integrations/aws-cloudtrail.md">Docs' in new
    assert '<a href="/docs/sns.md#subscription-state">More in the docs' in new
    assert "Confirm subscriptions automatically" in new and "Auto confirm" not in new
    edit = client.get(f"/services/{service_id}/integrations/1/edit")
    assert edit.status_code == 200 and csrf_of(edit)
    assert '<a class="type-docs" href="/docs/integrations/aws-cloudwatch.md">Docs' in edit.text
    links = set(re.findall(r'href="(/docs/[^"#]+)', edit.text + new))
    assert links
    for href in links:
        page = httpx.get(server.base_url + html.unescape(href), timeout=30)
        assert page.status_code == 200, href
        assert page.headers["content-type"] == "text/plain; charset=utf-8"
        assert page.text.startswith("# ")
    for bad in ("/docs/../pyproject.toml", "/docs/%2e%2e/pyproject.toml", "/docs/nope.md",
                "/docs/images/new-integration.png"):  # fmt: skip
        assert httpx.get(server.base_url + bad, timeout=30).status_code == 404, bad
