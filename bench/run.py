"""`make bench`: Consulta, production-shaped, measured beside its baselines in the same run.

Usage: .venv/bin/python bench/run.py [--rows 100000] [--orgs 4000] [--seconds 15] [--smoke]
                                     [--out bench/results] [--skip-report]
Builds a PostgreSQL database of its own (dropped at the end, also on failure or Ctrl-C),
migrates and seeds it as docker-compose's migrate service does, fills it with
`flask generate-feedback` and adds organisations whose leads hold API tokens; starts gunicorn as
the Dockerfile's CMD says, Celery worker and beat as docker-compose.yml says (bench/stack.py),
with the same gunicorn command serving a one-INSERT Flask app as the baseline; then drives them
with fixed numbers of asyncio clients for a fixed time each (bench/load.py) and writes
<out>/<timestamp>.md and .json. Needs PostgreSQL (CONSULTA_BENCH_PG or CONSULTA_TEST_PG, an
admin URL) and Redis (CONSULTA_BENCH_REDIS, default db 9).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, scenarios, stack  # noqa: E402
from bench.report import markdown_table  # noqa: E402
from bench.scenarios import SUMMIT, Positions  # noqa: E402

MODERATOR = "moderator@bench.example"
COUNCIL = "council@bench.example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=4_000, help="organisations with tokens")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each scenario")
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, 200 orgs, 0.6 s each")
    parser.add_argument("--out", type=Path, default=stack.PROJECT / "bench" / "results")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--skip-report", action="store_true", help="leave the report out")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.orgs, args.seconds = 2_000, 200, 0.6
    results = bench(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(results)
    (args.out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stamp}.md").write_text(table)
    print(table)
    print(f"written: {args.out / stamp}.md and .json")
    if results["lost"]:
        sys.exit(f"{results['lost']} acknowledged submissions are not in the database")


def bench(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    results: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "cpu_count": os.cpu_count(),
        "load_before": os.getloadavg(),
        "smoke": args.smoke,
        "seconds_per_scenario": args.seconds,
        "rows": [],
    }
    rows = results["rows"]
    with stack.stack(keep_logs=args.logs) as bench:
        _say(started, "database migrated and seeded")
        results["commands"] = bench.commands
        bench.start_servers()  # booting while the database fills; the worker starts after it
        results["sizes"] = _fill(bench, args)
        _say(started, f"filled: {results['sizes']['generate_feedback']}")
        organisations = scenarios.add_organisations(bench, args.orgs, secrets.token_hex(3))
        with bench.sql() as conn:
            conn.execute("VACUUM ANALYZE")  # as autovacuum would soon after a bulk load
            items = [r[0] for r in conn.execute("SELECT id FROM items ORDER BY id").fetchall()]
        results["sizes"]["organisations_with_tokens"] = len(organisations)
        positions = Positions.of(organisations, items)
        bench.start_workers()
        bench.wait_servers()
        _say(started, "stack up")
        _warm_up(bench, positions, args.seconds)
        _say(started, "warmed up")
        rows += _submissions(bench, positions, args.seconds)
        _say(started, "submissions measured")
        rows += _pages(bench, args.seconds)
        _say(started, "pages measured")
        rows += _surge(bench, positions, args.seconds)
        _say(started, "surge measured")
        if not args.skip_report:
            rows += _report(bench, args.smoke)
            _say(started, "report measured")
        bench.check_alive()
        results["acknowledged"] = len(positions.acknowledged)
        results["stored"] = scenarios.stored(bench, positions.acknowledged)
        results["lost"] = results["acknowledged"] - results["stored"]
        results["worker_concurrency"] = stack.worker_concurrency(bench.commands["worker"])
    results["load_after"] = os.getloadavg()
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    return results


def _say(started: float, what: str) -> None:
    print(f"[{time.perf_counter() - started:5.0f} s] {what}", flush=True)


def _warm_up(bench: stack.Stack, positions: Positions, seconds: float) -> None:
    """Every gunicorn worker connects and submits once before anything is timed (each page is
    warmed up before it is measured)."""
    load.drive(scenarios.submit_request(bench.base_url, positions), 8, min(seconds, 1.0))
    load.drive(scenarios.baseline_request(bench.baseline_url), 8, min(seconds, 1.0))
    scenarios.drain_time(bench, limit=120)


def _commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH
        cwd=stack.PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _fill(bench: stack.Stack, args: argparse.Namespace) -> dict:
    scenarios.add_staff(bench, MODERATOR, COUNCIL)
    started = time.perf_counter()
    out = bench.flask("generate-feedback", "--count", str(args.rows), "--consultation", SUMMIT)
    seconds = time.perf_counter() - started
    return {
        "feedback_rows": args.rows,
        "fill_seconds": round(seconds, 1),
        "generate_feedback": out.strip().splitlines()[-1],
    }


def _submissions(bench: stack.Stack, positions: Positions, seconds: float) -> list[dict]:
    rows = []
    for clients in (8, 16, 32):
        base = load.drive(scenarios.baseline_request(bench.baseline_url), clients, seconds)
        ours = load.drive(scenarios.submit_request(bench.base_url, positions), clients, seconds)
        drained, waiting = scenarios.drain_time(bench, limit=max(120.0, 10 * seconds))
        rows.append(
            {
                "key": f"submit_{clients}",
                "what": f"submissions through the API (create + submit), {clients} clients",
                "consulta": ours.summary(),
                "baseline": {"what": "one INSERT under the same gunicorn", **base.summary()},
                "ratio": _ratio(ours.ok_rate, base.ok_rate),
                "drain": {
                    "seconds": _r(drained),
                    "burst_seconds": round(ours.seconds, 2),
                    "flag_checks_at_end": waiting[0],
                    "outbox_at_end": waiting[1],
                },
            }
        )
        print(
            f"  submit {clients}: {ours.summary()} | baseline {base.summary()} | drain {drained}",
            flush=True,
        )
    return rows


def _pages(bench: stack.Stack, seconds: float) -> list[dict]:
    base = bench.base_url
    with bench.sql() as conn:
        code, published = conn.execute(
            "SELECT i.code, count(*) FROM feedback f JOIN items i ON i.id = f.item_id "
            "WHERE f.state = 'published' GROUP BY i.code ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    item = f"{base}/c/{SUMMIT}/items/{code}"
    deep, depth = scenarios.deep_item_page(base, item)
    cookie = scenarios.moderator_cookie(bench, MODERATOR)
    targets = [
        ("home", "home page", base + "/", None),
        ("static", "/static/app.css through the same server", base + "/static/app.css", None),
        (
            "item_first",
            f"public item page {code} ({published:,} published), first page",
            item,
            None,
        ),
        ("item_deep", f"public item page {code}, page {depth}", deep, None),
        ("consultation", "consultation page", f"{base}/c/{SUMMIT}", None),
        ("moderation_queue", "moderation queue page", base + "/moderation/", {"Cookie": cookie}),
        (
            "api_list",
            "public API feedback list",
            f"{base}/api/v1/consultations/{SUMMIT}/items/{code}/feedback",
            None,
        ),
    ]
    measured = {}
    for key, what, url, headers in targets:
        load.drive(load.get(url, headers), 8, min(seconds / 2, 2.0))  # warm-up, not counted
        at32 = load.drive(load.get(url, headers), 32, seconds)
        at8 = load.drive(load.get(url, headers), 8, seconds)
        measured[key] = (what, url, at32, at8)
        print(f"  {key}: 32 {at32.summary()} | 8 p95 {at8.pct(95)}", flush=True)
    home, static = measured["home"][2], measured["static"][2]
    rows = []
    for key, (what, url, at32, at8) in measured.items():
        if key == "static":
            continue
        rows.append(
            {
                "key": f"page_{key}",
                "what": what,
                "url": url.removeprefix(base),
                "consulta": {
                    **at32.summary(),
                    "p95_ms_at_8": _r(at8.pct(95)),
                    "at_8": at8.summary(),
                },
                "baseline": {"what": "/static/app.css, same server", **static.summary()},
                "ratio": _ratio(at32.pct(50), static.pct(50)),
                "vs_home": _ratio(at32.rate, home.rate),
            }
        )
    return rows


def _surge(bench: stack.Stack, positions: Positions, seconds: float) -> list[dict]:
    before = len(positions.acknowledged)
    surge = load.drive(scenarios.submit_request(bench.base_url, positions), 128, seconds)
    summary = surge.summary()
    refused = surge.by_status.get(503, [])
    # Emptied before the report is asked for, which would otherwise queue behind it.
    drained, waiting = scenarios.drain_time(bench, limit=max(300.0, 20 * seconds))
    print(f"  surge 128: {summary} | drain {drained}", flush=True)
    return [
        {
            "key": "surge_128",
            "what": "128 clients submitting at once",
            "consulta": {
                **summary,
                "ok": surge.ok,
                "status_429": surge.statuses.get(429, 0),
                "status_503": surge.statuses.get(503, 0),
                "time_to_503_p95_ms": _r(surge.pct(95, 503)) if refused else None,
                "time_to_503_max_ms": _r(max(refused) * 1000) if refused else None,
                "acknowledged": len(positions.acknowledged) - before,
            },
            "baseline": None,
            "ratio": None,
            "drain": {
                "seconds": _r(drained),
                "burst_seconds": round(surge.seconds, 2),
                "flag_checks_at_end": waiting[0],
                "outbox_at_end": waiting[1],
            },
        }
    ]


def _report(bench: stack.Stack, smoke: bool) -> list[dict]:
    """The whole consultation's report, requested as a council member does (queued to the
    worker), polled as its page does; beside one COPY of every comment."""
    with bench.sql() as conn:
        started = time.perf_counter()
        conn.execute("COPY (SELECT comment FROM feedback) TO '/dev/null'")
        copy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    out = bench.flask("compile-report", "--consultation", SUMMIT, "--user", COUNCIL)
    report_id = int(re.search(r"report (\d+)", out).group(1))
    readable = complete = None
    deadline = started + (180 if smoke else 900)
    while time.perf_counter() < deadline:
        with bench.sql() as conn:  # timed from the request's commit, by the database's clock
            status, stage, error, now = conn.execute(
                "SELECT status, stage, error, extract(epoch FROM clock_timestamp() - created_at)"
                " FROM reports WHERE id = %s",
                (report_id,),
            ).fetchone()
        now = float(now)
        if readable is None and (stage == "rendering" or status == "done"):
            readable = now
        if status == "done":
            complete = now
            break
        if status == "failed":
            raise RuntimeError(f"report failed: {error}")
        bench.check_alive()
        time.sleep(0.2)
    print(f"  report: readable {readable}, complete {complete}, COPY {copy_seconds}", flush=True)
    return [
        {
            "key": "report",
            "what": "consultation report (whole consultation)",
            "consulta": {
                "readable_s": _r(readable, 2),
                "complete_s": _r(complete, 2),
                "workers": stack.worker_concurrency(bench.commands["worker"]),
            },
            "baseline": {
                "what": "COPY (SELECT comment FROM feedback) TO '/dev/null'",
                "seconds": round(copy_seconds, 3),
            },
            "ratio": _ratio(readable, copy_seconds),
            "ratio_complete": _ratio(complete, copy_seconds),
        }
    ]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


if __name__ == "__main__":
    main()
