"""The one error of publishing files for readers (the marts' build, an export): the file, the cause and the fix."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from pipelines.usercom.errors import UsercomError

T = TypeVar("T")


class PublishError(UsercomError):
    """Files for readers could not be written or switched; readers keep what they had. Names the file, the
    cause and the fix."""


def attempt(action: Callable[[], T], path: Path, what: str, *, again: str, kept: str,
            failed: str = "could not publish the marts") -> T:
    """``action()``; an OSError (or DuckDB's I/O error) becomes a PublishError: ``failed``, ``path`` and the
    cause, what readers kept (``kept``) and the fix, ending in ``again`` (what to run afterwards)."""
    try:
        return action()
    except (OSError, duckdb.IOException) as error:
        code = error.errno if isinstance(error, OSError) else _errno_in(str(error))
        cause = (error.strerror if isinstance(error, OSError) else None) or " ".join(str(error).split())
        raise PublishError(f"{failed}: cannot {what} {path}: {cause}; {kept}. "
                           f"{fix(code, path, again)}") from error


def fix(code: int | None, path: Path, again: str) -> str:
    """What to do about an OSError of errno ``code`` on ``path``, ending in ``again``."""
    folder = path.parent
    if code in (errno.EACCES, errno.EPERM) and path.is_file():  # the file itself may be what is protected
        return (f"Make {path} and {folder} writable for this user (`ls -l {path}`; an immutable flag stops root too: "
                f"`lsattr {path}`, `lsattr -d {folder}`, `chattr -i`), {again}.")
    if code in (errno.EACCES, errno.EPERM):
        return (f"Make {folder} writable for this user (`ls -ld {folder}`; an immutable flag stops root too: "
                f"`lsattr -d {folder}`, `chattr -i`), {again}.")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"Free disk space on the file system of {folder}, {again}."
    if code == errno.EROFS:
        return f"{folder} is on a read-only file system: choose a writable folder, {again}."
    if code in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY):
        return f"Something else is in the way at {path} or a folder above it: move it away, {again}."
    return f"Check {folder}, {again}."


def _errno_in(message: str) -> int | None:
    """The errno whose text DuckDB's message carries ("... Permission denied"), if any."""
    return next((code for code in (errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOTDIR)
                 if os.strerror(code) in message), None)
