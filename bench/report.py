"""The bench's results as a Markdown table: what | Consulta | baseline | ratio."""

from __future__ import annotations


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _x(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _row(row: dict) -> tuple[str, str, str, str]:
    ours, base, key = row["consulta"], row["baseline"], row["key"]
    if key.startswith("submit_"):
        drain = row["drain"]
        drained = f"{drain['seconds']:.1f} s" if drain["seconds"] is not None else "not drained"
        return (
            row["what"],
            f"**{ours['ok_per_second']:.1f} /s**, p50 {_ms(ours['p50_ms'])}, "
            f"p95 {_ms(ours['p95_ms'])}, {ours['errors']} errors; worker backlog drained "
            f"{drained} after the {drain['burst_seconds']:.0f} s burst",
            f"{base['what']}: {base['ok_per_second']:.0f} /s, p95 {_ms(base['p95_ms'])}",
            _x(row["ratio"]),
        )
    if key.startswith("page_"):
        return (
            f"{row['what']} (`{row['url']}`), 32 clients",
            f"**{ours['per_second']:.1f} /s**, p50 {_ms(ours['p50_ms'])}, "
            f"p95 {_ms(ours['p95_ms'])}; 8 clients: p95 {_ms(ours['p95_ms_at_8'])}; "
            f"{ours['errors']} errors",
            f"static: {base['per_second']:.0f} /s, p50 {_ms(base['p50_ms'])}",
            f"p50 {_x(row['ratio'])}× static; {_x(row['vs_home'], 2)}× home's req/s",
        )
    if key == "surge_128":
        to_503 = (
            f"time to 503 p95 {_ms(ours['time_to_503_p95_ms'])} "
            f"(max {_ms(ours['time_to_503_max_ms'])})"
            if ours["status_503"]
            else "no 503"
        )
        drained = row["drain"]["seconds"]
        to_503 += "; worker backlog drained " + (
            f"{drained:.1f} s after" if drained is not None else "not drained within 20× of"
        )
        to_503 += f" the {row['drain']['burst_seconds']:.0f} s burst"
        other = ours["requests"] - ours["ok"] - ours["status_429"] - ours["status_503"]
        return (
            row["what"],
            f"p50 {_ms(ours['p50_ms'])}, p99 {_ms(ours['p99_ms'])}; 2xx {ours['ok']}, "
            f"429 {ours['status_429']}, 503 {ours['status_503']}, other {other}; {to_503}",
            "—",
            "—",
        )
    if key == "report":
        return (
            f"{row['what']}, worker concurrency {ours['workers']}",
            f"readable {_s(ours['readable_s'])}, complete {_s(ours['complete_s'])}",
            f"`{base['what']}`: {base['seconds']:.2f} s",
            f"{_x(row['ratio'])}× / {_x(row['ratio_complete'])}×",
        )
    raise ValueError(key)


def _s(value: float | None) -> str:
    return "not done" if value is None else f"{value:.1f} s"


def markdown_table(results: dict) -> str:
    sizes = results["sizes"]
    lines = [
        f"Consulta bench, {results['started_at']}, commit {results['commit']}: "
        f"{sizes['feedback_rows']:,} rows (filled in {sizes['fill_seconds']:.0f} s), "
        f"{sizes['organisations_with_tokens']:,} organisations with tokens; "
        f"{results['cpu_count']} cores, load {_load(results['load_before'])} before, "
        f"{_load(results['load_after'])} after; {results['seconds_per_scenario']:g} s per "
        f"scenario{' (smoke)' if results['smoke'] else ''}.",
        "",
        "| what | Consulta | baseline in the same run | ratio |",
        "| --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(_row(row)) + " |" for row in results["rows"]]
    lines += [
        "",
        f"Nothing acknowledged was lost: {results['acknowledged']:,} acknowledged, "
        f"{results['stored']:,} stored."
        if not results["lost"]
        else f"**{results['lost']:,} acknowledged submissions lost** "
        f"({results['acknowledged']:,} acknowledged, {results['stored']:,} stored).",
        "",
    ]
    return "\n".join(lines)


def _load(averages: list[float] | tuple[float, ...]) -> str:
    return "/".join(f"{a:.1f}" for a in averages)
