"""Small file helpers shared by the media readers and writers."""

from __future__ import annotations

import secrets
from pathlib import Path


def one_line(e: BaseException) -> str:
    """An exception as one short line for a user-facing message (an OSError's own reason, not its repr)."""
    text = " ".join(str(getattr(e, "strerror", None) or e).split())
    return text or type(e).__name__


def temp_sibling(path: Path) -> Path:
    """A hidden, unique temporary name in ``path``'s folder, to write to and then ``os.replace`` onto ``path``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
