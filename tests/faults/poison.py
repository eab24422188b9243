"""Loaded into a fault test's Celery worker with `--include` (never by the app): compiling an
item's report is poison. POISON=crash kills the pool process that runs it (as a segfault or the
OOM killer would); POISON=raise raises. Each run prints a line the test counts."""

from __future__ import annotations

import os
import signal

from app.reports import compiler
from tests.helpers.faults import POISON_RUN_LINE as RUN_LINE

POISON = os.environ.get("POISON", "raise")


def _poisoned_compile_item(scope, csv_path, alive=None, labels=None):  # noqa: ANN001, ANN202
    print(RUN_LINE, os.getpid(), flush=True)  # noqa: T201 - read by the test in the worker's log
    if POISON == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError("the item's rows cannot be read")


# Only in a process started to be poisoned: a test module that imports this by mistake must not
# poison the test run's own report compiling.
if "POISON" in os.environ:
    compiler.compile_item = _poisoned_compile_item  # the pipeline imports it when it runs
