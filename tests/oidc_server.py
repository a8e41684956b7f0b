"""A real OpenID Connect provider for the sign-in tests: the npm package oidc-provider
(tests/js/oidc_provider.mjs) in its own Node.js process on 127.0.0.1, and a person going
through its development login pages (any name, any password; then the consent page)
the way a browser would, with requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.targets import free_port

JS = Path(__file__).resolve().parent / "js"
CLIENT_ID = "statusweb-tests"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"


@contextmanager
def oidc_provider(redirect_uri: str, accounts: dict[str, dict] | None = None) -> Iterator[str]:
    """The provider, with one client allowed to come back to `redirect_uri`; its issuer."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "oidc-provider").is_dir():
        message = "node and tests/js/node_modules/oidc-provider are needed (make test installs the latter)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    process = subprocess.Popen(
        [node, "oidc_provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, redirect_uri],
        cwd=JS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OIDC_ACCOUNTS": json.dumps(accounts or {})},
    )
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            said.append(line)
            if line.startswith("ready "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(30):
            raise AssertionError(f"oidc-provider did not start: {''.join(said)[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in_at_provider(authorization_url: str, login: str, redirect_uri: str, *, consent: bool = True) -> str:
    """Follow the provider's pages as `login` (consenting, or not); the URL it sends the
    browser back to (the redirect URI with code and state, or an error)."""
    import requests
    from bs4 import BeautifulSoup

    session = requests.Session()
    url, method, data = authorization_url, "GET", None
    for _ in range(12):
        response = session.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url, method, data = urljoin(url, response.headers["Location"]), "GET", None
            if url.startswith(redirect_uri):
                return url
            continue
        page = BeautifulSoup(response.text, "html.parser")
        form = page.find("form")
        assert form is not None, response.text[:2000]
        fields = {field["name"]: field.get("value", "") for field in form.find_all("input") if field.get("name")}
        if "login" in fields:
            fields.update(login=login, password="any password")
        elif not consent:  # the consent page: "Cancel" instead of "Continue"
            cancel = page.find("a", href=True, string=lambda text: text and "Cancel" in text)
            url, method, data = urljoin(url, cancel["href"]), "GET", None
            continue
        url, method, data = urljoin(url, form["action"]), "POST", fields
    raise AssertionError(f"the provider never sent the browser back (last page: {url})")
