"""A live server on a free port and real Chromium driven by Playwright, each started once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.services import CI


@pytest.fixture(scope="session")
def _live_server_url(app: Flask) -> Iterator[str]:
    """The session's app served by a real HTTP server in a thread, for the whole session."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def live_server(seeded: Flask, _live_server_url: str) -> str:
    """The base URL of the live server, on the seeded data."""
    return _live_server_url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (make test installs Debian's chromium)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
