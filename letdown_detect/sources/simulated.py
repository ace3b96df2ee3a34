"""The embedded default source: a simulated pump session streamed in real time × speed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Clock
from .replay import ReplaySource

if TYPE_CHECKING:
    from firmware_bridge.virtual_pump import VirtualPump


class SimulatedSource(ReplaySource):
    """Stream a freshly simulated session (see :mod:`letdown_detect.sources.simulate`).

    Args:
        target: unused (``sim:`` has no address).
        clock: paces the blocks.
        speed: session seconds per second of ``clock`` time.
        seed: simulator seed; the same seed gives the same session.
        kind: channel kind (``weight_g``, ``pressure_pa``, ``volume_ml``, ``flow_ml_s``).
        double: simulate double pumping (left and right channels).
        duration_s: simulated session length, s.
        block_s: session seconds per block, s.
    """

    def __init__(
        self,
        target: str = "",
        *,
        clock: Clock,
        speed: float = 1.0,
        seed: int = 0,
        kind: str = "weight_g",
        double: bool = False,
        duration_s: float = 900.0,
        block_s: float = 0.1,
    ) -> None:
        from .simulate import SimConfig, simulate_session

        simulation = simulate_session(
            SimConfig(kind=kind, double=double, duration_s=duration_s), seed=seed
        )
        self.simulation = simulation
        super().__init__(
            clock=clock,
            speed=speed,
            block_s=block_s,
            recording=simulation.recording,
            description=f"simulator (seed {seed}, {kind}{', double' if double else ''})",
        )


def simulated_pump(
    kind: str = "weight_g",
    seed: int = 0,
    double: bool = False,
    duration_s: float = 900.0,
    sample_rate_hz: float = 20.0,
    **options: object,
) -> VirtualPump:
    """A virtual pump playing ``simulate_session(SimConfig(...), seed)``.

    ``options`` are those of ``VirtualPump`` itself (mode, faults, ...).
    """
    from firmware_bridge.virtual_pump import VirtualPump

    from .simulate import SimConfig, simulate_session

    config = SimConfig(
        kind=kind, double=double, duration_s=duration_s, sample_rate_hz=sample_rate_hz
    )
    return VirtualPump(simulate_session(config, seed).recording, **options)  # type: ignore[arg-type]
