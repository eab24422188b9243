"""Workers say they are alive, so that /readyz can tell whether anyone will run the queued work.

Each worker beats every `worker_heartbeat_seconds`: in Redis, its name in a sorted set per queue
scored with the time; without Redis (the embedded default: one machine, one worker) the time of a
file in the instance folder. A worker is alive while its last beat is younger than three beats;
one that stops cleanly takes its beat away at once, one that is killed is forgotten after that.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask

from app.cache import redis_client

KEY_PREFIX = "consulta:workers:"
MISSED_BEATS = 3  # a worker this many beats late counts as gone


def beat(app: Flask, worker_name: str) -> None:
    now = time.time()
    client = redis_client(app)
    if client is None:
        path = _file(app)
        path.write_text(worker_name, encoding="utf-8")  # its modification time is the beat
        return
    key, expiry = _key(app), _expiry_seconds(app)
    with client.pipeline() as pipe:
        pipe.zadd(key, {worker_name: now})
        pipe.zremrangebyscore(key, "-inf", now - expiry)
        pipe.expire(key, int(expiry) + 1)  # gone with the last worker
        pipe.execute()


def stop(app: Flask, worker_name: str) -> None:
    client = redis_client(app)
    if client is None:
        _file(app).unlink(missing_ok=True)
    else:
        client.zrem(_key(app), worker_name)


def alive(app: Flask) -> bool:
    """Whether some worker of this queue beat recently. Raises redis.RedisError when Redis
    does not answer (the caller decides what that means)."""
    since = time.time() - _expiry_seconds(app)
    client = redis_client(app)
    if client is None:
        try:
            return _file(app).stat().st_mtime > since
        except FileNotFoundError:
            return False
    return bool(client.zcount(_key(app), since, "+inf"))


def _expiry_seconds(app: Flask) -> float:
    return MISSED_BEATS * app.config["SETTINGS"].worker_heartbeat_seconds


def _key(app: Flask) -> str:
    return KEY_PREFIX + app.config["SETTINGS"].celery_queue


def _file(app: Flask) -> Path:
    return Path(app.instance_path) / f"worker-heartbeat-{app.config['SETTINGS'].celery_queue}"
