"""Sections -> PDF with Typst (the ``typst`` package: the compiler in-process, no network).

The layout is ``report/packet.typ``; the data (title page, header, sections) goes in as one JSON
string (``sys.inputs``), so text from the exports is typeset as text, never read as markup. Fonts:
only the CJK font's folder (``report.fonts``) is searched, never the machine's other fonts, so the
same data gives the same layout on every machine.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from report.fonts import FONT_FAMILY, font_dir

TEMPLATE = Path(__file__).resolve().parent / "packet.typ"


def compile_pdf(workdir: Path, meta: dict, sections: list[dict], created_at: dt.datetime) -> bytes:
    """Typeset the packet in ``workdir`` (which holds the sections' chart images)."""
    import typst
    main = workdir / "packet.typ"
    shutil.copyfile(TEMPLATE, main)
    data = json.dumps({"meta": meta | {"font": FONT_FAMILY}, "sections": sections},
                      ensure_ascii=False, default=str)
    return typst.compile(str(main), root=str(workdir), font_paths=[str(font_dir())],
                         ignore_system_fonts=True, sys_inputs={"data": data},
                         timestamp=int(created_at.timestamp()))
