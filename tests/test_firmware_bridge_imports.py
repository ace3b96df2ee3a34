"""``firmware_bridge`` (device side) stands alone: it imports nothing from ``letdown_detect``."""

from __future__ import annotations

import ast
from pathlib import Path

BRIDGE = Path(__file__).resolve().parent.parent / "firmware_bridge"


def test_firmware_bridge_imports_nothing_from_letdown_detect() -> None:
    found = []
    for path in sorted(BRIDGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "letdown_detect"]
    assert found == []
