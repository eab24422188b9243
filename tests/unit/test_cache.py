"""The shared cache never stands in the way: without Redis, or with Redis down, the figure is
computed each time."""

from __future__ import annotations

from app import create_app
from app.cache import remembered


def _app(tmp_path, redis_url: str):
    return create_app(
        {
            "env": "test",
            "instance_path": str(tmp_path),
            "database_url": "",
            "redis_url": redis_url,
            "ratelimit_storage_url": "memory://",
        }
    )


def test_with_redis_down_the_figure_is_computed_each_time(tmp_path):
    calls = []
    with _app(tmp_path, "redis://127.0.0.1:1/0").app_context():  # nothing listens on port 1
        for _ in range(2):
            value = remembered("n", 10, lambda: calls.append(1) or {"a": 1}, dict, dict)
            assert value == {"a": 1}
    assert len(calls) == 2


def test_without_redis_nothing_is_cached(tmp_path):
    calls = []
    with _app(tmp_path, "").app_context():
        remembered("n", 10, lambda: calls.append(1) or 1, int, int)
        remembered("n", 10, lambda: calls.append(1) or 1, int, int)
    assert len(calls) == 2
