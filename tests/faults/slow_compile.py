"""Loaded into a test's Celery worker with `--include` (never by the app): the first item pass
of a report pauses for SLOW_COMPILE_SECONDS once it has read its rows, so that a test can kill
the worker mid-report while its heartbeat keeps the lease."""

from __future__ import annotations

import os
import time

from app.reports import compiler

PAUSE = float(os.environ.get("SLOW_COMPILE_SECONDS", "60"))
_compile_item = compiler.compile_item
_paused = False


def _slow_compile_item(scope, csv_path, alive=None, labels=None):  # noqa: ANN001, ANN202
    def alive_then_pause(seen: int) -> None:
        global _paused
        if alive is not None:
            alive(seen)  # the page shows the reading stage, then the worker goes quiet
        if not _paused:
            _paused = True
            time.sleep(PAUSE)

    return _compile_item(scope, csv_path, alive=alive_then_pause, labels=labels)


# Only in a process started to be slow (the tests set SLOW_COMPILE_SECONDS): imported anywhere
# else by mistake, it must not slow the test run's own report compiling.
if "SLOW_COMPILE_SECONDS" in os.environ:
    compiler.compile_item = _slow_compile_item  # the pipeline imports it when it runs
