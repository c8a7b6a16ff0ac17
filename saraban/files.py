"""Files that survive a crash: written whole or not at all, and on the disk before they count.

Every file saraban writes for keeps goes through here: the PDFs the command line makes, the
slips of an issue batch, a college's uploaded letters, a mailout's manifest and bundles. A
file is written beside its target under a temporary name, flushed and fsynced, then renamed
over the target (atomic on POSIX); the folder is fsynced too where the rename itself must
outlive a crash (a committed batch's slips).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new name, a rename) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_files(paths: Iterable[str | Path]) -> None:
    """Make files already written (and closed) durable."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) holding ``data``, durably: the file and its name
    are on the disk when this returns."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(path.parent)


def write_atomically(
    path: Path, data: bytes, *, private: bool = False, make_folder: bool = False
) -> int:
    """Replace ``path`` with ``data`` through a temporary file beside it: readers see the old
    file or the new one, never part of it, and a failure leaves nothing behind. The new file
    is readable as the umask allows, or by its owner only (``private``). Returns its size."""
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if not private:  # mkstemp makes 0600; a file of the user's own gets the usual mode
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fh.fileno(), 0o666 & ~umask)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def write_if_changed(path: Path, data: bytes) -> bool:
    """:func:`write_atomically` unless ``path`` holds ``data`` already; whether it wrote."""
    if path.is_file() and path.read_bytes() == data:
        return False
    write_atomically(path, data)
    return True


def replace_durably(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` and make the rename durable."""
    os.replace(source, target)
    fsync_dir(target.parent)
