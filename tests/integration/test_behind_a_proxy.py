"""Behind the TLS proxy the README asks for, every request comes from the proxy's address:
the throttles must key on the client the trusted proxy saw, and nobody else's header."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, Settings
from tests.helpers.services import app_settings

pytestmark = [pytest.mark.postgres]

PROXY = "10.0.0.5"  # every request reaches the web from the proxy


def sign_in_attempts(client, client_address: str, count: int) -> list[int]:
    """`count` wrong sign-ins from `client_address` (through the proxy), each for a different
    account, so that only the per-address limit can stop them."""
    statuses = []
    for attempt in range(count):
        page = client.get("/auth/login", headers={"X-Forwarded-For": client_address})
        html = page.get_data(as_text=True)
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/auth/login",
            data={"csrf_token": token, "email": f"n{attempt}@example.org", "password": "wrong"},
            headers={"X-Forwarded-For": client_address},
            environ_base={"REMOTE_ADDR": PROXY},
        )
        statuses.append(response.status_code)
    return statuses


def test_two_clients_behind_one_trusted_proxy_have_their_own_sign_in_limits(pg_url, tmp_path):
    app = create_app({**app_settings(tmp_path, pg_url, None, "q"), "trusted_proxies": 1})
    client = app.test_client()
    assert sign_in_attempts(client, "203.0.113.1", 11)[-1] == 429  # the first one is throttled
    assert sign_in_attempts(client, "203.0.113.2", 1) == [200]  # the second one is not


def test_without_a_trusted_proxy_the_forwarded_header_is_not_believed(pg_url, tmp_path):
    app = create_app(app_settings(tmp_path, pg_url, None, "q"))
    client = app.test_client()
    assert sign_in_attempts(client, "203.0.113.1", 11)[-1] == 429
    # A made-up X-Forwarded-For does not buy a fresh limit: the address is the peer's.
    assert sign_in_attempts(client, "203.0.113.2", 1) == [429]


def test_the_number_of_trusted_proxies_is_read_and_checked():
    assert Settings.from_env({"CONSULTA_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies=-1).check()
