"""The playground's serving rules, in-process: open static paths under API-key auth, CORS wiring,
files that work offline, and the wheel's package data. The page itself is tested in a browser
in tests/integration/test_playground.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from server.core.settings import DEFAULT_CONFIG, Settings
from server.playground.router import ASSETS_PREFIX, STATIC_DIR, open_paths, static_files
from tests.support.app import fake_client

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-unit"
AUTH_ON = f"playground: true\napi_keys: [{KEY}]\ncors_allow_origins: ['http://app.test']"


def test_static_files_are_open_and_the_api_is_not(tmp_path: Path) -> None:
    with fake_client(tmp_path, settings_yaml=AUTH_ON) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert "/playground/js/main.js" in index.text
        for path in static_files():
            answer = client.get(f"{ASSETS_PREFIX}/{path.as_posix()}")
            assert answer.status_code == 200, path
            assert answer.content == (STATIC_DIR / path).read_bytes()
        js = client.get(f"{ASSETS_PREFIX}/js/main.js").headers["content-type"]
        assert js.startswith(("text/javascript", "application/javascript"))  # module scripts
        assert client.get("/v1/models").status_code == 401
        headers = {"Authorization": f"Bearer {KEY}"}
        assert client.get("/v1/models", headers=headers).status_code == 200
        # Open paths are exact files, not a prefix: anything else still needs the key.
        assert client.get(f"{ASSETS_PREFIX}/nothing.js").status_code == 401
        assert client.get(f"{ASSETS_PREFIX}/nothing.js", headers=headers).status_code == 404


def test_open_paths_only_with_the_playground_on(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    model = {"name": "m", "task": "generate", "source": str(tmp_path / "m")}
    assert open_paths(Settings(models=[model])) == frozenset()  # type: ignore[list-item]
    paths = open_paths(Settings(playground=True, models=[model]))  # type: ignore[list-item]
    assert "/" in paths and f"{ASSETS_PREFIX}/index.html" in paths
    assert not any(p.startswith("/v1") for p in paths)


def test_preflight_passes_the_key_check_only_for_allowed_origins(tmp_path: Path) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-stainless-os",
    }
    with fake_client(tmp_path, settings_yaml=AUTH_ON) as client:
        ok = client.options("/v1/embeddings", headers={**preflight, "Origin": "http://app.test"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "http://app.test"
        allowed = ok.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "x-stainless-os" in allowed
        no = client.options("/v1/embeddings", headers={**preflight, "Origin": "http://else.test"})
        assert "access-control-allow-origin" not in no.headers
        # The request itself still needs the key; its 401 is readable by the allowed page.
        refused = client.post("/v1/models", headers={"Origin": "http://app.test"})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "http://app.test"


def test_no_cors_headers_by_default(tmp_path: Path) -> None:
    headers = {"Origin": "http://app.test", "Access-Control-Request-Method": "POST"}
    with fake_client(tmp_path) as client:
        answer = client.options("/v1/models", headers=headers)
        assert "access-control-allow-origin" not in answer.headers
        assert client.get("/").status_code == 404


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for path in static_files():
        text = (STATIC_DIR / path).read_text()
        assert not re.search(r"https?://|//cdn|@import", text), f"{path} refers outside"


def test_every_module_import_and_asset_reference_resolves() -> None:
    for path in static_files():
        if path.suffix == ".js":
            for target in re.findall(r'from\s+"(\.[^"]+)"', (STATIC_DIR / path).read_text()):
                assert (STATIC_DIR / path.parent / target).resolve().is_file(), (path, target)
    index = (STATIC_DIR / "index.html").read_text()
    for target in re.findall(r'(?:src|href)="(/playground/[^"]+)"', index):
        assert (STATIC_DIR / target.removeprefix(f"{ASSETS_PREFIX}/")).is_file(), target


def test_package_data_ships_the_static_files_but_not_the_screenshots() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["server"]
    package = REPO / "server"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    assert {STATIC_DIR / p for p in static_files()} <= shipped
    assert not [p for p in shipped if "screenshots" in p.parts]


def test_the_playground_is_off_by_default_and_on_for_make_serve() -> None:
    assert Settings.model_fields["playground"].default is False
    cors = Settings.model_fields["cors_allow_origins"]
    assert cors.get_default(call_default_factory=True) == []
    assert yaml.safe_load(DEFAULT_CONFIG.read_text())["playground"] is True
