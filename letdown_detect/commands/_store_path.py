"""The session store a read-only command opens: it must exist (a typo never creates one)."""

from __future__ import annotations

from pathlib import Path


def existing_store(db: str | Path | None) -> Path:
    """The database ``--db`` (or the default) names, which must already exist.

    Raises:
        ConfigError: no database there (a read-only command never creates an empty one).
    """
    from ..errors import ConfigError
    from ..store.db import default_db_path

    path = default_db_path(db)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no session store there; record a session with 'letdown live', "
            "add one with 'letdown import', or point --db at the store",
            "db",
        )
    return path
