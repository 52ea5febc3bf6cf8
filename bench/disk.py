"""Writing a freshly copied store through to the disk before it is timed."""

from __future__ import annotations

import subprocess
from pathlib import Path


def flush(path: Path) -> None:
    """Write ``path`` (and its ``-wal``, if any) through to the disk now: a copy's writeback
    (the whole store's size) would otherwise run during the first timed series and slow its
    commits.

    In a child process (coreutils ``sync FILE``): closing a descriptor of a SQLite file drops
    every POSIX lock this process holds on it, SQLite connections' included, and a connection
    of this process that lost its lock then reads the database through a log another process
    reset ("database disk image is malformed", or rows missing)."""
    for part in (path, Path(str(path) + "-wal")):
        if part.exists():
            subprocess.run(["sync", "--", str(part)], check=True)
