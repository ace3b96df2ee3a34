"""Hermetic tests: no test reads or writes the user's data, config or cache folders.

At start-up every per-user folder the code can reach (``platformdirs`` follows the
XDG variables on Linux; ``$LETDOWN_DB`` and ``$LETDOWN_CONFIG`` override them) is
pointed at a temporary tree, and each test then gets folders of its own. Compiled
loops are cached in one temporary folder per run, so the core compiles once per
run instead of once per test. Subprocesses inherit the environment, so a
``letdown live`` started by a test writes into the test's folders too.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true) draws the same examples on every run, so a submission's result does not
# depend on the draw; a developer's run explores new ones (and pins what it finds).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_USER_FOLDER_VARS = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
_RUN_ROOT = Path(tempfile.mkdtemp(prefix="letdown-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module imports the package: temporary folders for the whole run."""
    for var in _USER_FOLDER_VARS:
        folder = _RUN_ROOT / "run" / var.lower()
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(folder)
    os.environ.pop("LETDOWN_DB", None)
    os.environ.pop("LETDOWN_CONFIG", None)
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(_RUN_ROOT / "numba")


@pytest.fixture(autouse=True)
def user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets empty data, config, cache and state folders of its own."""
    home = tmp_path_factory.mktemp("user")
    folders = {}
    for var in _USER_FOLDER_VARS:
        folder = home / var.lower()
        folder.mkdir()
        monkeypatch.setenv(var, str(folder))
        folders[var] = folder
    monkeypatch.delenv("LETDOWN_DB", raising=False)
    monkeypatch.delenv("LETDOWN_CONFIG", raising=False)
    return folders


@pytest.fixture(autouse=True)
def root_logging():
    """Commands run in-process configure the root logger (as a process should); put it back
    after each test, so no later test writes through a handler bound to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session", autouse=True)
def warm_compiled_core() -> None:
    """Compile the core into this run's cache before any test, so no test's output depends
    on which test happened to run first (a cold cache adds a 'preparing' line)."""
    from letdown_detect.pipeline import warm_up

    warm_up()
