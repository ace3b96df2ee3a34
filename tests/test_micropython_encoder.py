"""The shared encoder (protocol.py) gives the same bytes under real MicroPython as on the host.

MicroPython runs as its WebAssembly port under Node. It is installed by
``sh firmware_bridge/tests_js/install.sh`` (npm); when it is missing this test
tries that script once and fails (never skips) if it still is not there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import firmware_bridge
from firmware_bridge import protocol

BRIDGE = Path(firmware_bridge.__file__).parent
JS = BRIDGE / "tests_js"
PACKAGE = JS / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def micropython():
    """Run a script under MicroPython with protocol.py importable; returns its stdout lines."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: apt-get install nodejs (Node >= 18), then rerun")
    if not PACKAGE.exists():
        built = subprocess.run(
            ["sh", str(JS / "install.sh")], capture_output=True, text=True, timeout=150
        )
        if not PACKAGE.exists():
            pytest.fail(
                "MicroPython (WebAssembly) is not installed and `sh firmware_bridge/tests_js/"
                f"install.sh` failed: {built.stderr.strip()[-400:]}"
            )

    def run(script: str, tmp_path: Path) -> list[str]:
        path = tmp_path / "script.py"
        path.write_text(script)
        result = subprocess.run(
            ["node", str(JS / "run_micropython.mjs"), str(path), str(BRIDGE / "protocol.py")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.splitlines()

    return run


def _cases() -> list[tuple[str, bytes]]:
    """``(python call, host bytes)`` pairs covering every encoder function."""
    rng = np.random.default_rng(4)
    cases = []
    for k in (1, 2, 3):
        for n in (1, 7, protocol.max_samples_per_frame(k)):
            t_ms = int(rng.integers(0, 2**32))
            seq = int(rng.integers(0, 2**16))
            offsets = sorted(int(o) for o in rng.integers(0, 2**16, n))
            values = [float(v) for v in rng.normal(0, 1e3, n * k).astype(np.float32)]
            call = f"protocol.encode_samples({seq}, {t_ms}, {offsets}, {values!r}, {k})"
            cases.append((call, protocol.encode_samples(seq, t_ms, offsets, values, k)))
    info_args = (7, 2**32 - 1, ("weight_g_left", "weight_g_right"), 20, {"g_per_ml": 1.03}, "fw 1")
    cases.append((f"protocol.encode_info{info_args!r}", protocol.encode_info(*info_args)))
    cal = {"pa_per_ml": 5.25, "g_per_ml": 1.0}
    info_args = (0, 0, ("pressure_pa",), 12.5, cal, "esp32 board")
    cases.append((f"protocol.encode_info{info_args!r}", protocol.encode_info(*info_args)))
    status_args = (65535, 123456, protocol.BATTERY_UNKNOWN, 3, protocol.ERROR_ADC, 70000)
    cases.append((f"protocol.encode_status{status_args!r}", protocol.encode_status(*status_args)))
    header_args = (("weight_g",), 20, {"g_per_ml": 1.03}, "arduino")
    cases.append(
        (
            f"protocol.text_header{header_args!r}.encode()",
            protocol.text_header(*header_args).encode(),
        )
    )
    rows = np.round(rng.normal(100, 80, (20, 2)), 2).tolist()
    for t_ms, row in enumerate(rows):
        call = f"protocol.text_line({t_ms * 50}, {row!r}).encode()"
        cases.append((call, protocol.text_line(t_ms * 50, row).encode()))
    data = rng.bytes(300)
    cases.append(
        (
            f"protocol.crc32({data!r}).to_bytes(4, 'little')",
            protocol.crc32(data).to_bytes(4, "little"),
        )
    )
    return cases


def test_micropython_encodes_the_same_bytes_as_the_host(micropython, tmp_path):
    cases = _cases()
    script = "import sys, protocol\nprint(sys.implementation.name)\n" + "".join(
        f"print(({call}).hex())\n" for call, _ in cases
    )
    implementation, *lines = micropython(script, tmp_path)
    assert implementation == "micropython"
    assert len(lines) == len(cases)
    for (call, expected), got in zip(cases, lines, strict=True):
        assert got == expected.hex(), call


def test_micropython_rejects_oversized_frames_like_the_host(micropython, tmp_path):
    n = protocol.max_samples_per_frame(1) + 1
    script = (
        "import protocol\n"
        "try:\n"
        f"    protocol.encode_samples(0, 0, [0] * {n}, [0.0] * {n}, 1)\n"
        "    print('accepted')\n"
        "except ValueError:\n"
        "    print('refused')\n"
    )
    assert micropython(script, tmp_path) == ["refused"]
    with pytest.raises(ValueError):
        protocol.encode_samples(0, 0, [0] * n, [0.0] * n, 1)
