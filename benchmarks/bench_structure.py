"""How the package's imports follow its layers: the data path from port to phone.

Reads every module of ``letdown_detect`` and ``firmware_bridge`` (nothing is run) and
counts the imports, including those inside functions, that run against the layers of
DESIGN.md: a lower layer importing a higher one ("up"), one adapter room importing
another ("across": sinks should receive what they need, not reach for each other), and
the device side importing the host package; and the lines where a sink searches the
session for another sink or reads the session by name. Run: ``python benchmarks/bench_structure.py``
(``--list`` prints each offending import).
"""

from __future__ import annotations

import argparse
import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Layer of each top-level room of the package, lowest first. Adapters (layer 3) may use
#: everything below them; only the composition root (live, layer 4) and the commands
#: above it may tie adapters together.
LAYERS: dict[str, int] = {
    "model": 0, "errors": 0, "params": 0, "_compiled": 0, "clock": 0, "config": 0,
    "secrets": 0, "summary": 0, "__init__": 0,
    "conditioning": 1, "detection": 1, "pipeline": 1,
    "recording": 2, "sources": 2, "store": 2,
    "sinks": 3, "notify": 3, "mood": 3, "research": 3, "session": 3,
    "live": 4,
    "commands": 5, "cli": 5, "__main__": 5,
}  # fmt: skip
ADAPTERS = {"sinks", "notify", "mood", "research"}
#: Adapters may all import the sink contract (the base class with its no-op hooks).
SHARED_CONTRACTS = {("sinks", "base")}


def _room(parts: tuple[str, ...]) -> str:
    """The top-level room of a module path inside letdown_detect."""
    return parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, ...]]:
    """Every letdown_detect module path a file imports, resolved to package parts."""
    package_parts = path.relative_to(ROOT / "letdown_detect").parts[:-1] if _in_host(path) else ()
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                module = tuple(node.module.split(".")) if node.module else ()
                if not module:  # from . import x: each name is a module or a package name
                    found += [(*base, alias.name) for alias in node.names]
                else:
                    found.append((*base, *module))
            elif node.module and node.module.startswith("letdown_detect"):
                found.append(tuple(node.module.split("."))[1:])
        elif isinstance(node, ast.Import):
            found += [
                tuple(a.name.split("."))[1:] for a in node.names if a.name.startswith("letdown_")
            ]
    return [parts for parts in found if parts]


def _in_host(path: Path) -> bool:
    return (ROOT / "letdown_detect") in path.parents


def measure() -> tuple[Counter[str], list[str]]:
    """Count imports by kind ("up", "across", "device->host", "ok") and list the bad ones."""
    counts: Counter[str] = Counter()
    offenders = []
    for path in sorted((ROOT / "letdown_detect").rglob("*.py")):
        own = path.relative_to(ROOT / "letdown_detect").parts
        here = _room(own)
        for target in _imports(path):
            there = _room(target)
            if there == here or there not in LAYERS or here not in LAYERS:
                continue
            kind = "ok"
            if LAYERS[there] > LAYERS[here]:
                kind = "up"
            elif (
                here in ADAPTERS and there in ADAPTERS and tuple(target[:2]) not in SHARED_CONTRACTS
            ):
                kind = "across"
            counts[kind] += 1
            if kind != "ok":
                offenders.append(f"{kind:7s} letdown_detect/{'/'.join(own)} -> {'.'.join(target)}")
    for path in sorted((ROOT / "firmware_bridge").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("letdown_detect"):
                    counts["device->host"] += 1
                    offenders.append(f"device  {path.relative_to(ROOT)} -> {name}")
    return counts, offenders


#: A sink reaching into the session for something it was not given: scanning the session's
#: sinks for another one, or reading a session attribute by name.
_REACH_IN = re.compile(
    r"getattr\(\s*(self\._)?(control|session)\b|\b(control|session)\.sinks\b|\bself\.sinks\b"
)


def reach_ins() -> list[str]:
    """Lines in adapter rooms (sinks, notify, mood, store) that search the session."""
    found = []
    for room in ("sinks", "notify", "mood", "store"):
        for path in sorted((ROOT / "letdown_detect" / room).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _REACH_IN.search(line) and not line.lstrip().startswith("#"):
                    found.append(f"reach   {path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print each offending import")
    args = parser.parse_args()
    counts, offenders = measure()
    reaches = reach_ins()
    counts["sink reaches into the session"] = len(reaches)
    offenders += reaches
    print("| imports | count |\n|---|---|")
    for kind in ("ok", "up", "across", "device->host", "sink reaches into the session"):
        print(f"| {kind} | {counts[kind]} |")
    if args.list:
        print("\n".join(offenders))


if __name__ == "__main__":
    main()
