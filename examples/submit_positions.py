#!/usr/bin/env python3
"""Submit a coalition's positions to a Consulta site from a CSV file, through its JSON API.

    python examples/submit_positions.py --site https://consulta.example --token "$TOKEN" \\
        --consultation leaders-summit-2021-migration positions.csv [--submit]

The token is a personal API token (My account → API tokens) of a member of the organisation;
`--submit` also signs each position off, which needs the organisation's lead. One row per item:

    item,stance,priority,comment,amendment,affected_populations,countries,attribution
    P1,support,4,"Our comment...","",labour_migrants;refugees,MX;GT,named

`affected_populations` and `countries` are separated by semicolons. Empty cells are not sent:
a new draft takes the site's defaults, an existing position keeps its value. A row whose item
already has the organisation's feedback changes it (with its ETag, so a colleague's newer edit
is never overwritten): the draft is updated, or with `--submit` the row's content is submitted
as a new revision. Each row's outcome is printed; the exit status is 1 when any row failed.
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import urllib.error
import urllib.request
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {})
        super().__init__(f"{status} {error.get('code', '')}: {error.get('message', '')}")
        self.status, self.field = status, error.get("field")


class Client:
    def __init__(self, site: str, token: str) -> None:
        self.site, self.token = site.rstrip("/"), token

    def call(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        request = urllib.request.Request(  # noqa: S310 - the site's address is the user's choice
            self.site + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.load(response), dict(response.headers)
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, json.load(error)) from None

    def pages(self, path: str) -> list[dict[str, Any]]:
        rows, url = [], path
        while url:
            page, _headers = self.call("GET", url)
            rows += page["data"]
            url = page["next"]
        return rows


def position(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the API's feedback fields. Empty cells are not sent: a new draft takes the
    site's defaults, and a position already there keeps what it has (a council-only text stays
    council-only, an anonymous position stays anonymous)."""
    lists = ("affected_populations", "countries")
    body: dict[str, Any] = {}
    for name, value in row.items():
        value = (value or "").strip()
        if name == "item" or not value:
            continue
        if name in lists:
            body[name] = [part for part in value.split(";") if part]
        elif name == "priority":
            body[name] = int(value)
        else:
            body[name] = value
    return body


def submit_positions(
    client: Client, consultation: str, rows: list[dict[str, str]], *, submit: bool
) -> int:
    items = {
        item["code"]: item["id"]
        for item in client.call("GET", f"/api/v1/consultations/{consultation}")[0]["items"]
    }
    existing = {fb["item_id"]: fb for fb in client.pages("/api/v1/feedback?limit=200")}
    failures = 0
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        code = row.get("item", "").strip()
        try:
            if code not in items:
                raise ApiError(
                    404, {"error": {"code": "unknown_item", "message": f"no item {code!r}"}}
                )
            current = existing.get(items[code])
            if current is None:
                body = {**position(row), "item_id": items[code]}
                saved, headers = client.call("POST", "/api/v1/feedback", body)
                if submit:
                    etag = {"If-Match": headers["ETag"]}
                    saved, _ = client.call("POST", saved["url"] + "/submit", None, etag)
            else:
                etag = {"If-Match": f'"{current["version"]}"'}
                if submit:  # the lead submits the row's content: a new revision if submitted
                    saved, _ = client.call("POST", current["url"] + "/submit", position(row), etag)
                else:
                    saved, _ = client.call("PUT", current["url"], position(row), etag)
            print(f"line {number}: {code} {saved['state']} ({saved['reference']})")
        except ApiError as error:
            failures += 1
            where = f" [{error.field}]" if error.field else ""
            print(f"line {number}: {code} failed: {error}{where}", file=sys.stderr)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_file")
    parser.add_argument(
        "--site", required=True, help="the site's address, e.g. https://consulta.example"
    )
    parser.add_argument("--token", required=True, help="a personal API token")
    parser.add_argument("--consultation", required=True, help="the consultation's slug")
    parser.add_argument(
        "--submit", action="store_true", help="also submit each position (the lead's token)"
    )
    args = parser.parse_args(argv)
    with open(args.csv_file, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    failures = submit_positions(
        Client(args.site, args.token), args.consultation, rows, submit=args.submit
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
