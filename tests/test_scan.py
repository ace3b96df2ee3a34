"""``letdown scan`` on fake advertisements: supported scales are marked with model and battery."""

from __future__ import annotations

import asyncio
import contextlib

import bleak
import numpy as np
import pytest
from virtual_scales import VirtualScale, VirtualScaleScanner

from letdown_detect.cli import main
from letdown_detect.commands.scan import FoundDevice, describe, scan

T_S = np.arange(0.0, 10.0, 0.1)
W_G = np.zeros_like(T_S)
SCALES = [  # kind, address, advertised name, rssi
    ("acaia", "C0:FF:EE:00:00:11", "PEARLS-1A2B3C", -48),
    ("bookoo", "C0:FF:EE:00:00:12", "BOOKOO_SC 232759", -52),
    ("decent", "C0:FF:EE:00:00:13", "Decent Scale", -56),
    ("felicita", "C0:FF:EE:00:00:14", "FELICITA", -60),
    ("weight-service", "C0:FF:EE:00:00:15", "Kitchen Scale", -64),
]


def _adverts(stack) -> None:
    for kind, address, name, rssi in SCALES:
        stack.enter_context(
            VirtualScale(kind, T_S, W_G, address=address, name=name, rssi=rssi, battery_pct=64)
        )


def test_scan_recognises_every_supported_scale() -> None:
    with contextlib.ExitStack() as stack:
        _adverts(stack)
        found = asyncio.run(scan(0.2, backend=VirtualScaleScanner))
    assert [(d.address, d.scale, d.model, d.battery_pct, d.ours) for d in found] == [
        ("C0:FF:EE:00:00:11", "acaia", "Acaia Pearl S", None, False),
        ("C0:FF:EE:00:00:12", "bookoo", "Bookoo Themis Mini", None, False),
        ("C0:FF:EE:00:00:13", "decent", "Decent Decent Scale", None, False),
        ("C0:FF:EE:00:00:14", "felicita", "Felicita Arc", None, False),
        # recognised by its Weight Scale service; battery from its Battery Service data
        ("C0:FF:EE:00:00:15", "weight-service", "Bluetooth Weight Scale Service", 64, False),
    ]


def test_scan_prints_the_scale_and_the_command_to_use(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        bleak, "get_platform_scanner_backend_type", lambda: (VirtualScaleScanner, "virtual")
    )
    with contextlib.ExitStack() as stack:
        _adverts(stack)
        assert main(["scan", "--timeout", "0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "s C0:FF:EE:00:00:11\tPEARLS-1A2B3C\t-48 dBm\tAcaia Pearl S: letdown live --scale acaia"
    )
    assert lines[-1] == (
        "s C0:FF:EE:00:00:15\tKitchen Scale\t-64 dBm\tBluetooth Weight Scale Service, "
        "battery 64%: letdown live --scale weight-service"
    )
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("device", "line"),
    [
        (FoundDevice("AA", "letdown-1", -40, True), "* AA\tletdown-1\t-40 dBm"),
        (FoundDevice("BB", None, None, False), "  BB\t(no name)"),
    ],
)
def test_other_devices_keep_their_lines(device: FoundDevice, line: str) -> None:
    assert describe(device) == line
