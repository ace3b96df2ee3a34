"""Bluetooth scales by name: ``--scale acaia`` -> the ``acaia`` module's ``ADAPTER``.

Each adapter lives in its own module, imported only when its name is used
(pyserial's URL-handler idea); :mod:`.base` defines the contract.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ...errors import ConfigError
from .base import Reading, ScaleAdapter

#: ``--scale`` name -> module under this package.
SCALES: dict[str, str] = {
    "acaia": "acaia",
    "bookoo": "bookoo",
    "decent": "decent",
    "felicita": "felicita",
    "weight-service": "weight_service",
}

__all__ = ["SCALES", "Reading", "ScaleAdapter", "adapter", "recognise"]


def adapter(name: str) -> ScaleAdapter:
    """The adapter registered under ``name``.

    Raises:
        ConfigError: an unknown name; the message lists the supported ones.
    """
    module = SCALES.get(name.strip().lower())
    if module is None:
        raise ConfigError(
            f"--scale {name!r} is not a scale we know; supported: " + ", ".join(SCALES),
            "scale",
        )
    return importlib.import_module(f".{module}", __name__).ADAPTER


def recognise(
    name: str | None, service_uuids: Iterable[str], manufacturer_ids: Iterable[int] = ()
) -> ScaleAdapter | None:
    """The adapter whose advertisement this is, or ``None``.

    Scales with their own protocol are tried before the generic Weight Scale Service.
    """
    uuids, ids = list(service_uuids), list(manufacturer_ids)
    for key in SCALES:
        found = adapter(key)
        if found.matches(name, uuids, ids):
            return found
    return None
