"""The bench's baseline: the least a Flask endpoint can do for a submission, one INSERT per
request (autocommit, one connection per gunicorn thread), served by the same gunicorn command
as the app. `bench/stack.py` creates its table in the bench database."""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["CONSULTA_DATABASE_URL"], autocommit=True)
    return conn


@app.get("/healthz")
def healthz():  # noqa: ANN201
    return "ok"


@app.post("/feedback")
def insert():  # noqa: ANN201
    body = request.get_json(force=True)
    row = (
        _connection()
        .execute(
            "INSERT INTO bench_baseline (item_id, comment) VALUES (%s, %s) RETURNING id",
            (body.get("item_id"), body.get("comment", "")),
        )
        .fetchone()
    )
    return jsonify(id=row[0]), 201
