"""The bench's baseline: the least a Flask endpoint can do for a submission, one INSERT per
request (autocommit), served by the same gunicorn command as the app, holding no more
connections per process than BENCH_BASELINE_CONNECTIONS (12): one per thread would take
PostgreSQL past max_connections with the app's beside it. `bench/stack.py` creates its table."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
_idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
_slots = threading.BoundedSemaphore(int(os.environ.get("BENCH_BASELINE_CONNECTIONS", "12")))


@contextmanager
def _connection() -> Iterator[psycopg.Connection]:
    with _slots:
        try:
            conn = _idle.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(os.environ["CONSULTA_DATABASE_URL"], autocommit=True)
        try:
            yield conn
        finally:
            if not conn.closed:
                _idle.put(conn)


@app.get("/healthz")
def healthz():  # noqa: ANN201
    return "ok"


@app.post("/feedback")
def insert():  # noqa: ANN201
    body = request.get_json(force=True)
    with _connection() as conn:
        row = conn.execute(
            "INSERT INTO bench_baseline (item_id, comment) VALUES (%s, %s) RETURNING id",
            (body.get("item_id"), body.get("comment", "")),
        ).fetchone()
    return jsonify(id=row[0]), 201
