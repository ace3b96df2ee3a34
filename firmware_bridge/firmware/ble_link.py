"""Bluetooth LE link: the letdown GATT service of ``ble_gatt.py`` on MicroPython's ``bluetooth``.

Each binary frame goes out as one notification on the samples characteristic
(the MTU is raised so a frame fits); the info characteristic holds the
latest device-info frame; a write of ``b"t"`` to the control characteristic
asks for a tare.
"""

import ble_gatt
import bluetooth
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_ADV_INTERVAL_US = const(250_000)
#: Room for the largest device-info frame, bytes.
_INFO_BUFFER = const(600)

_SERVICE = (
    bluetooth.UUID(ble_gatt.SERVICE_UUID),
    (
        (bluetooth.UUID(ble_gatt.SAMPLES_CHAR_UUID), _FLAG_NOTIFY),
        (bluetooth.UUID(ble_gatt.INFO_CHAR_UUID), _FLAG_READ),
        (bluetooth.UUID(ble_gatt.CONTROL_CHAR_UUID), _FLAG_WRITE),
    ),
)


def advertising_payloads(name: str, service_uuid: str):
    """``(adv_data, resp_data)``: flags and the 128-bit service UUID; the name in the response.

    Both fit the 31-byte legacy advertising limit.
    """
    uuid = bytes(bluetooth.UUID(service_uuid))
    adv = bytes((2, 0x01, 0x06, len(uuid) + 1, 0x07)) + uuid
    encoded = name.encode()
    return adv, bytes((len(encoded) + 1, 0x09)) + encoded


class BleLink:
    """Peripheral role: advertise, accept centrals, notify frames.

    Args:
        name: advertised name.
        ble: a ``bluetooth.BLE`` (default: the board's radio).
    """

    mode = "binary"

    def __init__(self, name: str, ble=None) -> None:
        self._ble = ble if ble is not None else bluetooth.BLE()
        self._ble.active(True)
        self._ble.config(mtu=ble_gatt.PREFERRED_MTU)
        self._ble.irq(self._irq)
        ((self._samples, self._info, self._control),) = self._ble.gatts_register_services(
            (_SERVICE,)
        )
        self._ble.gatts_set_buffer(self._info, _INFO_BUFFER)
        self._connections = set()
        self._commands = []
        self._adv, self._resp = advertising_payloads(name, ble_gatt.SERVICE_UUID)
        self._advertise()

    def _advertise(self) -> None:
        self._ble.gap_advertise(_ADV_INTERVAL_US, adv_data=self._adv, resp_data=self._resp)

    def _irq(self, event: int, data) -> None:
        if event == _IRQ_CENTRAL_CONNECT:
            self._connections.add(data[0])
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self._connections.discard(data[0])
            self._advertise()
        elif event == _IRQ_GATTS_WRITE and data[1] == self._control:
            self._commands.append(bytes(self._ble.gatts_read(self._control)))

    @property
    def connected(self) -> int:
        """Centrals connected now."""
        return len(self._connections)

    def set_info(self, frame: bytes) -> None:
        """Publish the device-info frame on the info characteristic."""
        self._ble.gatts_write(self._info, frame)

    def send(self, data: bytes) -> None:
        """Notify one frame to every connected central."""
        for conn in tuple(self._connections):
            try:
                self._ble.gatts_notify(conn, self._samples, data)
            except OSError:  # the central went away between the event and now
                self._connections.discard(conn)

    def command(self):
        """One waiting command (``b"t"`` = tare), or ``None``."""
        return self._commands.pop(0) if self._commands else None
