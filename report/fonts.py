"""The font of the packet: Noto Sans CJK JP (Debian's fonts-noto-cjk), so Japanese verbatim terms
print as text, not boxes. ``make install`` installs the package; $TRIALDASH_CJK_FONT_DIR points
elsewhere (a folder holding NotoSansCJK-Regular.ttc / -Bold.ttc or the JP .otf files)."""
from __future__ import annotations

import os
from pathlib import Path

FONT_FAMILY = "Noto Sans CJK JP"
ENV_VAR = "TRIALDASH_CJK_FONT_DIR"
DEBIAN_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKjp-Regular.otf", "NotoSansCJK-Regular.otf")


class FontMissing(RuntimeError):
    pass


def font_dir() -> Path:
    """The folder holding the CJK font; FontMissing says how to install it."""
    candidates = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    candidates.append(DEBIAN_DIR)
    for d in candidates:
        if any((d / f).is_file() for f in FONT_FILES):
            return d
    raise FontMissing(
        f"the packet's CJK font ({FONT_FAMILY}) is not installed: run `make install` (it installs "
        f"Debian's fonts-noto-cjk) or set {ENV_VAR} to a folder holding NotoSansCJK-Regular.ttc")
