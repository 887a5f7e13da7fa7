"""Worker processes for Great Expectations (etl/validate.py ``_GxRunner.run_domains``, issue 15).

GX's cost is Python work per expectation, single-threaded; on a machine with several CPUs each
domain's batch is validated in a child forked from the validating process, which already holds
GX imported and its context built (no second import). The child runs GX only and sends plain
values back through a pipe; the parent makes the problems. ``Forked(1)`` runs everything in the
calling process.
"""
from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import traceback
from collections.abc import Callable


def gx_workers() -> int:
    """How many batches GX validates at once (etl.validate ``run_domains``): TRIALDASH_GX_WORKERS,
    else one per CPU this process may use, at most 4; 1 where the system has no fork."""
    if not hasattr(os, "fork"):
        return 1
    setting = os.environ.get("TRIALDASH_GX_WORKERS", "").strip()
    if setting:
        if not setting.isdigit():
            raise ValueError(f"TRIALDASH_GX_WORKERS={setting!r}: give a whole number of worker "
                             "processes (1: Great Expectations runs in the validating process)")
        return max(1, int(setting))
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


class Forked:
    """Runs ``task()`` in forked child processes, at most ``n`` at a time, and ``done(result)``
    here as each one finishes; with ``n == 1`` the task runs here, at once.

    A child pickles its result (or its traceback) into a pipe and leaves with ``os._exit``: no
    atexit handler, finaliser or buffered output of this process runs or is written twice. A
    child that fails, or dies, raises RuntimeError here; on any error every child still running
    is killed and reaped before the error goes on."""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self.running: dict[int, tuple[int, Callable]] = {}   # pid -> (pipe to read, done)

    def __enter__(self) -> "Forked":
        if self.n > 1:
            # Every object this process holds now is left out of the cyclic collector's passes
            # (gc.freeze): a collection in a child would otherwise touch them all, copying their
            # memory pages (copy-on-write) and costing each child about 0.15 s (measured).
            gc.freeze()
        return self

    def run(self, task: Callable, done: Callable) -> None:
        if self.n == 1:
            done(task())
            return
        while len(self.running) >= self.n:
            self._collect()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # the child
            code = 1
            try:
                os.close(r)
                try:
                    payload = pickle.dumps((True, task()))
                except BaseException:
                    payload = pickle.dumps((False, traceback.format_exc()))
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.running[pid] = (r, done)

    def _collect(self) -> None:
        """Wait for the first child to finish; hand its result to its ``done``."""
        ready, _, _ = select.select([r for r, _ in self.running.values()], [], [])
        pid = next(p for p, (r, _) in self.running.items() if r == ready[0])
        r, done = self.running.pop(pid)
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if not data:
            raise RuntimeError("a Great Expectations worker process ended without a result "
                               f"(wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise RuntimeError("Great Expectations failed in a worker process:\n" + value)
        done(value)

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            while exc_type is None and self.running:
                self._collect()
        finally:
            for pid, (r, _done) in self.running.items():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                os.close(r)
            self.running.clear()
            if self.n > 1:
                gc.unfreeze()
        return False
