"""The packet's one door to the warehouse: every query of report/ goes through ``q``.

``q.<name>(...)`` calls ``warehouse.queries.<name>(...)`` (the same functions the pages call, so a
number in the packet is the number on the page) inside :func:`role_context`. The packet is the
monitoring committee's view (the safety view: no efficacy values); when the query layer enforces
roles, this is the one line to change::

    def role_context():
        return as_role("monitor")          # warehouse.access
"""
from __future__ import annotations

import contextlib
import functools

from warehouse import queries as _queries


def role_context():
    """The role every query of the packet runs as (none enforced yet: see the module docstring)."""
    return contextlib.nullcontext()


class _Queries:
    """``warehouse.queries`` with each call run inside :func:`role_context`."""

    def __getattr__(self, name: str):
        fn = getattr(_queries, name)
        if not callable(fn):
            return fn

        @functools.wraps(fn)
        def call(*args, **kwargs):
            with role_context():
                return fn(*args, **kwargs)
        return call


q = _Queries()
