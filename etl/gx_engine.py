"""Great Expectations' side of the validation: the GX context that runs the suites, here or in a
host process of its own (issue 15).

``etl.validate`` plans a validation in Polars (which rows and columns each expectation sees,
``_GxRunner``) and hands GX plain parts: (suite key, the suite's expectations as JSON, a pandas
frame, the frame's index columns). ``GxEngine`` runs them and returns plain values: per failing
expectation, its column, meta, type, exception message or None, and the index values of the
failing rows. Nothing here reads a file or knows a contract rule.

``GxHost`` is a process of its own (``python -m etl.gx_engine``), started as a validation
begins, that imports GX and builds the engine while the validating process reads the exports
(GX's import is seconds of Python work that holds the GIL: in a thread it slowed the reading by as
much as it saved; in its own process it runs on the other CPU). The host lives as long as the
validating process and serves every validation of it; each batch runs in a child forked from the
host (``etl.forked.Forked``, up to ``gx_workers()`` at once), which holds GX and the batch's few
thousand distinct rows, not the validating process's memory. GX is then never imported in the
validating process.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterable
from pathlib import Path

from etl.forked import Forked

Part = tuple  # (suite key, expectations as JSON dicts, pandas frame, index column names)
Found = tuple  # (GX column, meta, expectation type, exception message or None, failing rows)


class GxEngine:
    """One ephemeral GX context and one pandas batch definition; suites built from their JSON
    once per key (a key names one version of one column group's suite)."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch under HASH_THRESHOLD bytes (pandas' hash of every row
        # and column, then MD5) for a batch marker, "pandas_data_fingerprint", that nothing here
        # reads: a quarter of a 200,000-row batch's validation (10,000 subjects: GX 6.7 -> 5.5 s,
        # measured 2026-12-04). GX 1.24 has no option for it, only this module constant;
        # tests/test_validate_workers.py checks that a batch of ours carries no fingerprint.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.ctx = gx.get_context(mode="ephemeral")
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.ctx.config.analytics_enabled = False
        asset = self.ctx.data_sources.add_pandas("exports").add_dataframe_asset("frame")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self._suites: dict[str, object] = {}

    def suite(self, key: str, expectations: list[dict]):
        if key not in self._suites:
            if len(self._suites) >= 2048:
                self._suites.clear()
            self._suites[key] = self.gx.ExpectationSuite(name=key, expectations=expectations)
        return self._suites[key]

    def failures(self, parts: list[Part]) -> list[list[Found]]:
        """Per part, its failing expectations (``Found``); a failing row is its index columns'
        values, an int for one index column, else a tuple of ints."""
        return [self._part(self.suite(key, expectations), frame, index)
                for key, expectations, frame, index in parts]

    def _part(self, suite, frame, index: list[str]) -> list[Found]:
        with warnings.catch_warnings():
            # pandas warns on regexes with groups (etl.dates' patterns): nothing for the data team.
            warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular")
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            failing = self._failing(batch, suite)
            if not failing:
                return []
            res = batch.validate(failing, result_format={
                "result_format": "COMPLETE", "unexpected_index_column_names": index})
        found = []
        for r in res.results:
            if r.success:
                continue
            cfg = r.expectation_config
            rows = [tuple(int(i[c]) for c in index) if len(index) > 1 else int(i[index[0]])
                    for i in r.result.get("unexpected_index_list") or []]
            found.append((cfg.kwargs["column"], dict(cfg.meta or {}), cfg.type,
                          exception_message(r.exception_info), rows))
        return found

    def _failing(self, batch, suite):
        """Pass 1 of 2: every expectation of the suite with GX's cheapest result format (pass or
        fail, no rows). Returns a suite of only the failing ones, for pass 2 to name every
        failing row with its value (``COMPLETE``), or None when all passed. BOOLEAN_ONLY costs
        about 2.5x less per expectation than COMPLETE, and a valid delivery fails none."""
        res = batch.validate(suite, result_format="BOOLEAN_ONLY")
        failing = [r.expectation_config.to_json_dict() for r in res.results if not r.success]
        if not failing:
            return None
        for e in failing:
            e.pop("id", None)
        return self.gx.ExpectationSuite(name=f"{suite.name}-failing", expectations=failing)


def exception_message(info) -> str | None:
    """GX reports an exception flat or keyed by metric; None when nothing was raised."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "exception")
    return None


class GxHost:
    """The GX host process (module docstring). ``run`` sends a validation's batches one by one as
    they are made and returns every batch's ``GxEngine.failures``, in order.

    The host is a new Python process (``python -m etl.gx_engine``), not a fork of this one: it
    holds none of this process's open files (a forked copy kept, for one, the pipes of a browser
    driver open, so that the driver never saw them close) and none of its threads' locks.
    Requests and replies are pickled on two pipes of its own: ("batch", i, parts) ... ("end",)
    one way, then one reply (error text or None, {i: (worker pid, failures)}) the other; the host
    writes nothing before it has read "end", so neither side can wait on the other's full pipe.
    The host leaves when its request pipe ends (this process closed it, or died); an error in it
    (GX failing, a worker dying) is the reply's error, raised here as RuntimeError, and the host
    serves on."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.last_pids: list[int] = []
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        root = Path(__file__).resolve().parent.parent    # ``-m`` finds etl from there
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "etl.gx_engine", str(req_r), str(rep_w), str(workers)],
                stdin=subprocess.DEVNULL, pass_fds=(req_r, rep_w), cwd=root)
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.pid = self.proc.pid
        self._requests = os.fdopen(req_w, "wb")
        self._replies = os.fdopen(rep_r, "rb")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, batches: Iterable[list[Part]]) -> list[list[list[Found]]]:
        n = 0
        try:
            for parts in batches:
                pickle.dump(("batch", n, parts), self._requests, protocol=pickle.HIGHEST_PROTOCOL)
                n += 1
            pickle.dump(("end",), self._requests)
            self._requests.flush()
            error, results = pickle.load(self._replies)
        except (BrokenPipeError, EOFError, pickle.UnpicklingError) as exc:
            self.close()
            raise RuntimeError("the Great Expectations host process ended without a result "
                               f"({type(exc).__name__})") from exc
        if error is not None:
            raise RuntimeError("Great Expectations failed in its host process:\n" + error)
        self.last_pids = [results[i][0] for i in range(n)]   # which process ran each batch
        return [results[i][1] for i in range(n)]

    def close(self) -> None:
        """End the host now and reap it. It holds nothing worth waiting for between runs (no
        file of ours, no result), so it is stopped, not left to finish GX's import first."""
        for f in (self._requests, self._replies):
            try:
                f.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


EARLY: list[GxHost] = []   # a host started by start_early, for etl.validate's first use


def start_early() -> None:
    """Start the host now, before the caller's own imports (``python -m etl validate``), when GX
    will run in a host (several workers); ``etl.validate`` takes it on first use. A setting
    ``gx_workers`` refuses is left for the validation to report."""
    from etl.forked import gx_workers
    try:
        workers = gx_workers()
    except ValueError:
        return
    if workers > 1 and not EARLY:
        EARLY.append(GxHost(workers))


def _serve(requests_fd: int, replies_fd: int, workers: int) -> None:
    """The host's loop: build the engine, then serve validations until the request pipe ends."""
    requests = os.fdopen(requests_fd, "rb")
    replies = os.fdopen(replies_fd, "wb")
    engine, startup_error = None, None
    try:
        engine = GxEngine()
    except Exception:
        startup_error = traceback.format_exc()
    while True:
        results: dict[int, list] = {}
        error = startup_error
        try:
            message = pickle.load(requests)
        except EOFError:
            return
        try:
            with Forked(workers) as pool:
                while message[0] != "end":
                    _kind, i, parts = message
                    if error is None:
                        try:
                            pool.run(lambda parts=parts: (os.getpid(), engine.failures(parts)),
                                     lambda found, i=i: results.__setitem__(i, found))
                        except Exception:
                            error = traceback.format_exc()
                    message = pickle.load(requests)
        except EOFError:
            return
        except Exception:
            error = error or traceback.format_exc()
        pickle.dump((error, None if error else results), replies,
                    protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":          # the host process (GxHost): request fd, reply fd, workers
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
