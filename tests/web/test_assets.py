"""Templates and static files ship inside the package, and the server serves them."""

from __future__ import annotations

from importlib.resources import files

import httpx
import pytest

ASSETS = [
    "templates/base.html",
    "templates/login.html",
    "templates/app.html",
    "templates/simulator.html",
    "templates/csrf.html",
    "templates/disabled.html",
    "static/app.css",
    "static/simulator.css",
    "static/simulator.js",
    "static/favicon.svg",
]


@pytest.mark.parametrize("name", ASSETS)
def test_asset_is_package_data(name: str) -> None:
    resource = files("centralita.web").joinpath(name)
    assert resource.is_file(), f"{name} is not inside the centralita.web package"
    assert resource.read_text(encoding="utf-8").strip()


def test_templates_have_no_inline_script_or_handlers() -> None:
    # A CSP without 'unsafe-inline' is sent with every page: inline code would not run.
    templates = files("centralita.web").joinpath("templates")
    for item in templates.iterdir():
        text = item.read_text(encoding="utf-8")
        assert "<script>" not in text and "onclick" not in text and "onsubmit" not in text
        assert "style=" not in text and "<style" not in text
        assert "http://" not in text and "https://" not in text  # no CDN


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/simulator.js", "javascript"),
        ("/static/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
async def test_static_files_are_served(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert content_type in r.headers["content-type"]
