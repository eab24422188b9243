"""An asyncio load generator: a fixed number of clients, each sending its next request as soon
as the last one is answered, for a fixed time. Every answer is a sample (start, latency, status);
a connection error or a timeout is status 0.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

# A client's request: sends one, returns the status (and may note what the answer said).
# Every request of the bench says who it is; sign-in sessions are bound to the user agent.
USER_AGENT = "consulta-bench"
Request = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


class Exhausted(Exception):
    """The request source has nothing more to send: the client stops."""


@dataclass
class Result:
    clients: int
    seconds: float  # from the first request to the last answer
    latencies: list[float] = field(default_factory=list)  # seconds, every answer
    statuses: Counter = field(default_factory=Counter)
    by_status: dict[int, list[float]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def ok_rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.count - self.ok

    def pct(self, q: float, status: int | None = None) -> float | None:
        """The q-th percentile latency in ms, of every answer or of those with `status`."""
        values = self.latencies if status is None else self.by_status.get(status, [])
        return percentile(values, q)

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": self.count,
            "per_second": round(self.rate, 1),
            "ok_per_second": round(self.ok_rate, 1),
            "p50_ms": _round(self.pct(50)),
            "p95_ms": _round(self.pct(95)),
            "p99_ms": _round(self.pct(99)),
            "max_ms": _round(max(self.latencies) * 1000 if self.latencies else None),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of `values` (seconds), in ms."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank] * 1000


async def _drive(request: Request, clients: int, seconds: float, timeout: float) -> Result:
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    result = Result(clients, 0.0)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, headers={"User-Agent": USER_AGENT}
    ) as session:
        started = time.perf_counter()
        deadline = started + seconds
        last_answer = started

        async def client(index: int) -> None:
            nonlocal last_answer
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    status = await request(session, index)
                except Exhausted:
                    return
                except (TimeoutError, aiohttp.ClientError, OSError):
                    status = 0
                answered = time.perf_counter()
                last_answer = max(last_answer, answered)
                result.latencies.append(answered - sent)
                result.by_status.setdefault(status, []).append(answered - sent)
                result.statuses[status] += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
        result.seconds = last_answer - started
    return result


def drive(request: Request, clients: int, seconds: float, timeout: float = 60) -> Result:
    """`clients` clients sending `request` back to back for `seconds` (answers still awaited
    at the end are waited for and counted)."""
    return asyncio.run(_drive(request, clients, seconds, timeout))


def get(url: str, headers: dict[str, str] | None = None) -> Request:
    """A GET of `url` whose body is read in full."""

    async def request(session: aiohttp.ClientSession, _index: int) -> int:
        async with session.get(url, headers=headers, allow_redirects=False) as answer:
            await answer.read()
            return answer.status

    return request
