"""Files that hold health data: written 0600 from the start, and remembered for deletion.

Reports and images made from mood answers (``dmer --html``, ``report``,
``history``) are created with mode 0600 (``os.open``, never a chmod after the
fact) and their paths are listed in ``<data folder>/written.txt`` so that
``letdown data delete`` can remove them too.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The list of report files letdown wrote, one absolute path per line.
LEDGER = "written.txt"


def data_dir() -> Path:
    """The per-user data folder (database, session folders, the ledger)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("letdown"))


def sessions_dir() -> Path:
    """Where ``letdown live`` puts a session's recording folder by default."""
    return data_dir() / "sessions"


def write_private(path: str | Path, data: bytes | str, ledger: bool = True) -> Path:
    """Write ``data`` to ``path`` created with mode 0600, and note it in the ledger.

    An existing file is replaced by a new 0600 one (its old mode is not kept).

    Args:
        path: the file.
        data: its content (text is written as UTF-8).
        ledger: list it for ``letdown data delete`` (not for exports the parent keeps).

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if ledger:
        note_written(path)
    return path


def note_written(path: str | Path) -> None:
    """Add ``path`` to the ledger of files ``letdown data delete`` removes."""
    ledger = data_dir() / LEDGER
    ledger.parent.mkdir(parents=True, exist_ok=True)
    line = str(Path(path).resolve())
    if line in written_files():
        return
    fd = os.open(ledger, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def written_files() -> list[str]:
    """Paths in the ledger (files may have been moved or deleted since)."""
    try:
        text = (data_dir() / LEDGER).read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def save_figure_private(fig: object, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as a 0600 file (format from the suffix)."""
    import io

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")  # type: ignore[attr-defined]
    return write_private(path, buf.getvalue())
