"""The suite never touches the user's own data, config or cache folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from letdown_detect.config import config_path
from letdown_detect.store.db import default_db_path

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parent.parent


def test_default_paths_point_into_this_tests_folders(user_folders) -> None:
    assert default_db_path().is_relative_to(user_folders["XDG_DATA_HOME"])
    assert config_path().is_relative_to(user_folders["XDG_CONFIG_HOME"])


def test_the_tests_that_use_default_folders_leave_a_users_home_untouched(tmp_path) -> None:
    """Run the tests that start live sessions, stores and configs with a fresh home and no
    XDG variables, as on a user's machine: afterwards that home holds nothing of letdown."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LETDOWN_"))}
    env["HOME"] = str(home)
    tests = ["test_live_cli.py", "test_store.py", "test_config.py", "test_mood_cli.py"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "basetemp"), *(str(REPO / "tests" / t) for t in tests)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert left == [], f"the tests wrote into the user's home: {left[:20]}"
