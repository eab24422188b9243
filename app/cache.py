"""Redis, shared by the processes: the client, and a short-lived cache for figures that cost a
scan and may lag by a few seconds (the moderation queue's capped counts).

Without Redis (the embedded default), or when it does not answer, nothing is cached: the figure
is computed each time, and the page is as right as ever, only slower."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import redis
from flask import Flask, current_app

T = TypeVar("T")
CACHE_PREFIX = "consulta:cache:"


def redis_client(app: Flask) -> redis.Redis | None:
    """The process's client of the configured Redis, or None without one."""
    url = app.config["SETTINGS"].redis_url
    if not url:
        return None
    client = app.extensions.get("consulta_redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        app.extensions["consulta_redis"] = client
    return client


def remembered(
    name: str,
    seconds: int,
    compute: Callable[[], T],
    dump: Callable[[T], object],
    load: Callable[[object], T],
) -> T:
    """`compute()`, or what it gave in the last `seconds` (any process; 0 turns caching off).
    `dump` turns the value into JSON-able data and `load` back."""
    app = current_app._get_current_object()
    client = redis_client(app) if seconds > 0 else None
    if client is None:
        return compute()
    key = f"{CACHE_PREFIX}{app.config['SETTINGS'].celery_queue}:{name}"
    try:
        stored = client.get(key)
    except redis.RedisError:
        return compute()
    if stored is not None:
        return load(json.loads(stored))
    value = compute()
    try:
        client.set(key, json.dumps(dump(value)), ex=seconds)
    except redis.RedisError:
        app.logger.warning("could not cache %s", name)
    return value
