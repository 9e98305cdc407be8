"""Small file helpers shared by the media readers and writers."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from talkinghead.types import one_line

__all__ = ["atomic_path", "one_line", "temp_sibling"]


def temp_sibling(path: Path) -> Path:
    """A hidden, unique temporary name in ``path``'s folder, to write to and then ``os.replace`` onto ``path``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """A temporary sibling path to write ``path``'s content to; renamed onto ``path`` (mode 0644) when the block ends.

    If the block raises, the temporary file is deleted and ``path`` is left as it was. ``suffix``
    is appended to the temporary name for writers that pick the format by extension.
    """
    target = Path(path)
    tmp = temp_sibling(target)
    tmp = tmp.with_name(tmp.name + suffix)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
