"""The pure core never touches ports, radios, files, clocks, threads or event loops."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "letdown_detect"
CORE = [
    *sorted((PACKAGE / "conditioning").glob("*.py")),
    *sorted((PACKAGE / "detection").glob("*.py")),
    PACKAGE / "pipeline.py",
    PACKAGE / "look.py",
    PACKAGE / "params.py",
    PACKAGE / "model.py",
    PACKAGE / "sources" / "simulate.py",
    PACKAGE / "research" / "evaluate.py",
]
FORBIDDEN = {"serial", "bleak", "sqlite3", "asyncio", "threading", "time", "socket", "subprocess"}


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_no_io_or_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert not calls & {"open", "print", "input"}
