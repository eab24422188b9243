"""What the bench measures, each beside its baseline: submissions through the API, pages,
a 128-client surge, the consultation report. `bench/run.py` runs them in order on one stack."""

from __future__ import annotations

import html
import itertools
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin

import aiohttp
import argon2

from bench import load
from bench.stack import Stack

SUMMIT = "leaders-summit-2021-migration"
TOKEN_PREFIX = "cst_bench"  # noqa: S105 - the app's "cst_" prefix; secrets made per run below
PASSWORD = "bench-password-Zq7!x"  # noqa: S105 - a throwaway account in a throwaway database
DRAFT = {
    "stance": "support_with_amendments",
    "priority": 4,
    "affected_populations": ["labour_migrants"],
    "countries": ["MX", "GT"],
    "amendment": "Add care work to the temporary labour programmes.",
    "evidence_links": ["https://example.org/study"],
}


# --- organisations with tokens, and the positions they may submit --------------------------------


def add_organisations(bench: Stack, number: int, run_id: str) -> list[tuple[int, str]]:
    """`number` verified organisations, each with a lead and an API token for the lead, in one
    statement. The secret of user N's token is `cst_bench<run_id>_N` (its SHA-256 is stored,
    as app.accounts.profile does). Returns (organisation id, secret) pairs."""
    prefix = f"{TOKEN_PREFIX}{run_id}_"
    with bench.sql() as conn:
        rows = conn.execute(
            """
            WITH orgs AS (
              INSERT INTO organizations (name, type, country, verification, verified_at, created_at)
              SELECT 'Bench organisation ' || %(run)s || ' ' || n, 'ngo', 'MX', 'verified',
                     now(), now()
              FROM generate_series(1, %(n)s) AS n
              RETURNING id
            ), leads AS (
              INSERT INTO users (email, name, password_hash, role, organization_id, is_lead,
                                 locale, email_confirmed_at, active, created_at)
              SELECT 'lead' || id || '@bench.example', 'Lead ' || id, '!', 'stakeholder', id,
                     true, 'en', now(), true, now()
              FROM orgs
              RETURNING id, organization_id
            ), tokens AS (
              INSERT INTO api_tokens (user_id, name, token_hash, created_at)
              SELECT id, 'bench', encode(sha256(convert_to(%(prefix)s || id, 'UTF8')), 'hex'),
                     now()
              FROM leads
              RETURNING user_id
            )
            SELECT leads.organization_id, leads.id FROM leads JOIN tokens ON user_id = leads.id
            ORDER BY leads.id
            """,
            {"run": run_id, "n": number, "prefix": prefix},
        ).fetchall()
    return [(org, f"{prefix}{user}") for org, user in rows]


def add_staff(bench: Stack, moderator: str, council: str) -> None:
    """A moderator who signs in with PASSWORD, and a council member to ask for the report."""
    hashed = argon2.PasswordHasher().hash(PASSWORD)
    with bench.sql() as conn:
        conn.execute(
            """
            INSERT INTO users (email, name, password_hash, role, is_lead, locale,
                               email_confirmed_at, active, created_at)
            VALUES (%s, 'Bench moderator', %s, 'moderator', false, 'en', now(), true, now()),
                   (%s, 'Bench council', '!', 'council', false, 'en', now(), true, now())
            """,
            (moderator, hashed, council),
        )


@dataclass
class Positions:
    """(token, item) pairs not yet used, shared by every client: consecutive pairs belong to
    different organisations. Remembers every acknowledged submission."""

    pairs: itertools.chain
    acknowledged: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, organisations: list[tuple[int, str]], items: list[int]) -> Positions:
        return cls(
            itertools.chain.from_iterable(
                ((secret, item) for _org, secret in organisations) for item in items
            )
        )

    def take(self) -> tuple[str, int]:
        with self._lock:
            pair = next(self.pairs, None)
        if pair is None:
            raise load.Exhausted
        return pair


def submit_request(base_url: str, positions: Positions) -> load.Request:
    """Create and submit a position in one request, as a lead's client does."""
    url = base_url + "/api/v1/feedback"
    counter = itertools.count()

    async def request(session: aiohttp.ClientSession, _index: int) -> int:
        secret, item = positions.take()
        body = {**DRAFT, "item_id": item, "submit": True}
        body["comment"] = f"Labour pathways should include care workers (bench {next(counter)})."
        headers = {"Authorization": f"Bearer {secret}"}
        async with session.post(url, json=body, headers=headers) as answer:
            data = await answer.json(content_type=None) if answer.status == 201 else None
            await answer.read()
            if data is not None:
                positions.acknowledged.append(int(data["id"]))
            return answer.status

    return request


def baseline_request(baseline_url: str) -> load.Request:
    counter = itertools.count()

    async def request(session: aiohttp.ClientSession, _index: int) -> int:
        n = next(counter)
        body = {**DRAFT, "item_id": 1 + n % 15, "comment": f"Labour pathways (bench {n})."}
        async with session.post(baseline_url + "/feedback", json=body) as answer:
            await answer.read()
            return answer.status

    return request


def backlog(bench: Stack) -> tuple[int, int]:
    """(flag checks waiting, outbox messages not yet sent)."""
    with bench.sql() as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM flag_checks), (SELECT count(*) FROM notifications "
            "WHERE status IN ('pending', 'sending'))"
        ).fetchone()


def drain_time(bench: Stack, limit: float) -> tuple[float | None, tuple[int, int]]:
    """Seconds until the worker's backlog is empty (None when it is not within `limit`), and
    the backlog found first."""
    started = time.perf_counter()
    first = backlog(bench)
    waiting = first
    while any(waiting):
        if time.perf_counter() - started > limit:
            return None, first
        time.sleep(0.1)
        bench.check_alive()
        waiting = backlog(bench)
    return time.perf_counter() - started, first


def stored(bench: Stack, ids: list[int]) -> int:
    """How many of the acknowledged submissions the database holds as submitted."""
    with bench.sql() as conn:
        return conn.execute(
            "SELECT count(*) FROM feedback WHERE id = ANY(%s) AND submitted_at IS NOT NULL",
            (ids,),
        ).fetchone()[0]


# --- pages ---------------------------------------------------------------------------------------


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """(status, body, Set-Cookie headers), redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    request = urllib.request.Request(  # noqa: S310 - our own server
        url, headers={"User-Agent": load.USER_AGENT, **(headers or {})}
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=600) as answer:
            body = answer.read().decode("utf-8", "replace")
            return answer.status, body, answer.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        return (
            error.code,
            error.read().decode("utf-8", "replace"),
            (error.headers.get_all("Set-Cookie") or []),
        )


def _cookies(headers: list[str], jar: dict[str, str]) -> dict[str, str]:
    for header in headers:
        parsed = SimpleCookie()
        parsed.load(header)
        jar.update({name: morsel.value for name, morsel in parsed.items()})
    return jar


def moderator_cookie(bench: Stack, email: str) -> str:
    """Sign in through the real form (its CSRF token included); the session's Cookie header.
    The cookie is marked Secure in production, so it is carried by hand over plain HTTP."""
    login = bench.base_url + "/auth/login"
    status, body, set_cookie = fetch(login)
    jar = _cookies(set_cookie, {})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
    if status != 200 or token is None:
        raise RuntimeError(f"no sign-in form ({status})")
    form = urlencode(
        {"csrf_token": html.unescape(token.group(1)), "email": email, "password": PASSWORD}
    ).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    request = urllib.request.Request(  # noqa: S310 - our own server
        login,
        data=form,
        headers={"Cookie": cookie, "User-Agent": load.USER_AGENT},
        method="POST",
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as answer:
            raise RuntimeError(f"sign-in not accepted ({answer.status})")
    except urllib.error.HTTPError as error:  # 302 to the home page: signed in
        if error.code != 302:
            raise RuntimeError(f"sign-in failed ({error.code})") from error
        jar = _cookies(error.headers.get_all("Set-Cookie") or [], jar)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, _body, _ = fetch(bench.base_url + "/moderation/", {"Cookie": cookie})
    if status != 200:
        raise RuntimeError(f"moderation queue answered {status} after sign-in")
    return cookie


def deep_item_page(base_url: str, first: str, depth: int = 50) -> tuple[str, int]:
    """The item page `depth` pages in (or its last page, if it has fewer), reached as a reader
    would: by the page's own next links. Numbered pages (`?page=2`) are jumped to directly, as
    following 49 links of OFFSET pages would take minutes at a million rows; keyset links are
    followed. Returns (URL, page number reached)."""
    url, page = first, 1
    while page < depth:
        _status, body, _ = fetch(url)
        found = re.search(r'<a rel="next" href="([^"]+)"', body)
        if found is None:
            break
        following = urljoin(url, html.unescape(found.group(1)).split("#")[0])
        numbered = re.search(r"[?&]page=(\d+)", following)
        if numbered and page == 1:
            pages = re.search(r'aria-current="page">\D*\d+\D+(\d+)', body)
            target = min(depth, int(pages.group(1))) if pages else depth
            return re.sub(r"([?&]page=)\d+", rf"\g<1>{target}", following), target
        url, page = following, page + 1
    return url, page
