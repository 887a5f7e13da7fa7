"""The monitoring committee's packet: one dated, read-only PDF per issue, for the warehouse's
current data (``python -m report packet``; the Safety page's button).

- ``source``: the packet's one door to ``warehouse.queries`` (and the role it reads as);
- ``sections``: one function per section, in the order of a DSMB report, laying out query
  results with ``warehouse.tables`` and ``warehouse.charts`` (the pages' own layouts and charts);
- ``render``: sections -> PDF with Typst (the ``typst`` package; no network) and the CJK font;
- ``packet``: issuing, the packets folder (``<warehouse>.packets/<packet id>/``), the manifest,
  the audit trail.
"""
