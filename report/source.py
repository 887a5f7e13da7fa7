"""The packet's one door to the warehouse: every query of report/ goes through ``q``.

``q.<name>(...)`` calls ``warehouse.queries.<name>(...)`` (the same functions the pages call, so a
number in the packet is the number on the page) inside :func:`role_context`. The packet is the
monitoring committee's view (the safety view: no efficacy values): every query runs as the
``monitor`` role (warehouse/access.py), whoever issues it, so the query layer itself keeps the
efficacy values out of the packet.
"""
from __future__ import annotations

import functools

from warehouse import queries as _queries
from warehouse.access import as_role

PACKET_READS_AS = "monitor"


def role_context():
    """The role every query of the packet runs as: the monitoring committee's."""
    return as_role(PACKET_READS_AS)


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
