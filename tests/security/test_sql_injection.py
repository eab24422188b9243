"""sqlmap, at level 2, against every search and filter parameter of a running server on the
seeded PostgreSQL database: it must find nothing. A deliberately injectable endpoint on the same
database proves that the probe, as configured here, does find an injection."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
import pytest
from flask import Flask, request
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Consultation, Feedback, Item, Report
from tests.helpers.services import free_port
from tests.helpers.web import DEMO_PASSWORD, csrf_token

pytestmark = [pytest.mark.postgres]

SUMMIT = "leaders-summit-2021-migration"
USER_AGENT = "consulta-sqlmap-probe"
SQLMAP = str(Path(sys.executable).parent / "sqlmap")
FOUND = re.compile(r"appears to be .*injectable|identified the following injection point")
CLEAN = "do not appear to be injectable"


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def session_cookie(self, email: str) -> str:
        """Sign in as a browser would (this user agent, this address: sessions are bound to
        both) and return the session cookie for sqlmap to send."""
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("User-Agent", USER_AGENT)]
        page = opener.open(f"{self.url}/auth/login").read().decode()
        form = {"csrf_token": csrf_token(page), "email": email, "password": DEMO_PASSWORD}
        opener.open(f"{self.url}/auth/login", urllib.parse.urlencode(form).encode())
        return "; ".join(f"{c.name}={c.value}" for c in jar if c.name == "session")


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.thread.start()
    yield server
    server.server.shutdown()


def sqlmap(url: str, params: list[str], out: Path, cookie: str = "") -> str:
    """sqlmap's report on `params` of `url` (level 2, risk 1, every technique)."""
    command = [
        SQLMAP,
        "-u", url,
        "-p", ",".join(params),
        "--batch",
        "--level=2",
        "--risk=1",
        "--dbms=PostgreSQL",
        "--flush-session",
        f"--output-dir={out}",
        "--disable-coloring",
        f"--user-agent={USER_AGENT}",
        "--timeout=15",
        "--threads=4",
    ]  # fmt: skip
    if cookie:
        command.append(f"--cookie={cookie}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    return done.stdout + done.stderr


def assert_clean(report: str, params: list[str]) -> None:
    assert not FOUND.search(report), report[-3000:]
    assert CLEAN in report, report[-3000:]
    for name in params:  # every parameter was really tested
        assert f"parameter '{name}'" in report, (name, report[-3000:])


def ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        summit = db.session.scalar(select(Consultation).where(Consultation.slug == SUMMIT))
        item = db.session.scalar(select(Item).where(Item.consultation_id == summit.id))
        return {
            "consultation": summit.id,
            "item": item.id,
            "feedback": db.session.scalar(select(Feedback.id).order_by(Feedback.id)),
            "report": db.session.scalar(select(Report.id)) or 1,
        }


def item_code(app: Flask) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Item.code)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(Consultation.slug == SUMMIT)
            .order_by(Item.position)
        )


# (who signs in, path and query with a plausible value for every parameter, parameters)
TARGETS = {
    "public search": (
        None,
        "/c/{summit}/items/{code}?q=visa&stance=support&language=en&type=ngo&country=MX&page=1",
        ["q", "stance", "language", "type", "country", "page"],
    ),
    "public cursors": (None, "/c/{summit}/items/{code}?after=abc&before=abc", ["after", "before"]),
    "moderation queue": (
        "moderator@example.org",
        "/moderation/?q=visa&state=submitted&consultation={consultation}&item={item}"
        "&flag=links&organization_type=ngo&country=MX&language=en&verified=yes&order=newest"
        "&after=2026-01-01T00:00:00%2B00:00_1",
        [
            "q",
            "state",
            "consultation",
            "item",
            "flag",
            "organization_type",
            "country",
            "language",
            "verified",
            "order",
            "after",
        ],
    ),  # fmt: skip
    "audit log": (
        "council@example.org",
        "/moderation/audit/?actor=moderator%40example.org&action=feedback&target_type=feedback"
        "&target_id={feedback}&from=2026-01-01&to=2026-12-31&before=1000",
        ["actor", "action", "target_type", "target_id", "from", "to", "before"],
    ),
    "admin user search": ("admin@example.org", "/admin/users?q=lead&after=1", ["q", "after"]),
    "campaigns": ("moderator@example.org", "/moderation/campaigns/?after=1", ["after"]),
    "published feedback API": (
        None,
        "/api/v1/consultations/{summit}/items/{code}/feedback?after=1&stance=support"
        "&language=en&limit=10",
        ["after", "stance", "language", "limit"],
    ),
}


@pytest.mark.parametrize("target", TARGETS)
def test_sqlmap_finds_no_injection(seeded, live_server, tmp_path, target):
    email, path, params = TARGETS[target]
    url = live_server.url + path.format(summit=SUMMIT, code=item_code(seeded), **ids(seeded))
    cookie = live_server.session_cookie(email) if email else ""
    if email:  # signed in, the page answers (not the sign-in redirect sqlmap would probe)
        probe = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
        assert urllib.request.urlopen(probe).status == 200  # noqa: S310 - our test server
    assert_clean(sqlmap(url, params, tmp_path, cookie), params)


def test_the_probe_finds_an_injection_where_there_is_one(pg_url, tmp_path):
    """The control: the same probe on a query glued together from the parameter."""
    toy = Flask("injectable")

    @toy.get("/items")
    def items():  # noqa: ANN202
        with psycopg.connect(pg_url) as connection:
            sql = f"SELECT count(*) FROM pg_class WHERE relname = '{request.args['name']}'"  # noqa: S608
            return {"count": connection.execute(sql).fetchone()[0]}

    server = LiveServer(toy)
    server.thread.start()
    try:
        report = sqlmap(f"{server.url}/items?name=items", ["name"], tmp_path)
    finally:
        server.server.shutdown()
    assert FOUND.search(report), report[-3000:]
