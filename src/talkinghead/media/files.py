"""Small file helpers shared by the media readers and writers, and the output checks every job makes first."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from talkinghead.types import InputError, one_line

__all__ = ["atomic_path", "check_output", "check_writable", "one_line", "temp_sibling"]


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


def check_output(output: str | os.PathLike[str], *inputs: str | os.PathLike[str] | None) -> Path:
    """The output video's path, checked before any work: an .mp4 name, none of the inputs, writable.

    Raises:
        InputError: another extension, the same file as an input, or a folder that cannot be written.
    """
    from talkinghead.media.video import ensure_distinct

    path = Path(output)
    if path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise InputError(f"{path}: output must be an .mp4 file")
    ensure_distinct(path, *inputs)
    check_writable(path)
    return path


def check_writable(path: Path) -> None:
    """Raise InputError unless ``path`` can be created: an existing folder we may write, not a directory.

    Raises:
        InputError: ``path`` is a directory, or its folder is missing or not writable.
    """
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not path.parent.exists() or not os.access(path.parent, os.W_OK):
        raise InputError(f"{path}: output folder does not exist or is not writable")
