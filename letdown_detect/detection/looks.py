"""Two looks at one stream (fast and slow low-pass), each letdown announced once.

A detection within ``min_interval_s`` of a letdown the other look announced is that
letdown (two letdowns are never so close) and is held back. What becomes of it
follows the announced one: if that completes as a letdown, the held one is dropped;
if it is retracted (a rise that collapsed within seconds), the held one may have been
the letdown after all. It is announced once it has stood ``evidence_s`` since its own
detection (so the parent never gets a second alert that is taken back), or dropped if
it collapses first; so is a detection that comes near a retracted one later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..model import Event

LOOKS = ("fast", "slow")
#: Announced onsets kept per look: letdowns come minutes apart, the newest few are plenty.
_KEEP = 16


@dataclass
class _Held:
    """A detection held back while a letdown of the other look near it is open."""

    detection: Event
    completion: Event | None = None
    release_s: float = math.inf
    """When it is announced, s (set once no letdown of the other look stands near it)."""


class OneAnnouncement:
    """Merge the events of the two looks so that each letdown is announced once.

    Args:
        min_interval_s: detections this close to an announced onset are that letdown, s.
        evidence_s: a held detection the other look's retraction freed is announced this
            long after its own detection, if it has not collapsed by then, s.
        rate_hz: grid rate; an event decided at a grid time is known half a bin later.
    """

    def __init__(self, min_interval_s: float, evidence_s: float, rate_hz: float) -> None:
        self.min_interval_s = min_interval_s
        self.evidence_s = evidence_s
        self._half_bin = 0.5 / rate_hz
        self.reset()

    def reset(self) -> None:
        """Back to the just-built state."""
        # Announced onsets per look, and whether each has completed as a letdown.
        self._announced: dict[str, dict[float, bool]] = {look: {} for look in LOOKS}
        self._held: dict[tuple[str, float], _Held] = {}
        self._dropped: set[tuple[str, float]] = set()
        # Released letdowns whose completion is still to come: when they were announced.
        self._released: dict[tuple[str, float], float] = {}
        # Onsets each look announced and then retracted.
        self._retracted: dict[str, list[float]] = {look: [] for look in LOOKS}

    def merge(
        self, fast: list[tuple[float, Event]], slow: list[tuple[float, Event]], now_s: float
    ) -> list[Event]:
        """The looks' events (each with the grid time it was decided, s), in the order they
        were decided, the fast look's first at equal times, each letdown once; ``now_s``
        is the newest grid time both looks have taken (held detections due by then are
        announced)."""
        merged = sorted(
            [(t, 0, k, "fast", e) for k, (t, e) in enumerate(fast)]
            + [(t, 1, k, "slow", e) for k, (t, e) in enumerate(slow)],
            key=lambda item: item[:3],
        )
        out: list[Event] = []
        for decided, _, _, look, event in merged:
            out.extend(self._due(decided))
            if event.complete:
                out.extend(self._completed(look, event, decided))
            else:
                out.extend(self._detected(look, event))
        out.extend(self._due(now_s))
        return out

    def _other(self, look: str) -> str:
        return LOOKS[1 - LOOKS.index(look)]

    def _near(self, look: str, onset: float) -> dict[float, bool]:
        """Announced letdowns of ``look`` within ``min_interval_s`` of ``onset``."""
        return {
            o: done
            for o, done in self._announced[look].items()
            if abs(o - onset) <= self.min_interval_s
        }

    def _announce(self, look: str, onset: float) -> None:
        mine = self._announced[look]
        mine[onset] = False
        for old in list(mine)[:-_KEEP]:
            del mine[old]

    def _detected(self, look: str, event: Event) -> list[Event]:
        key = (look, event.onset_s)
        other = self._other(look)
        near = self._near(other, event.onset_s)
        if not near:
            if any(abs(o - event.onset_s) <= self.min_interval_s for o in self._retracted[other]):
                # The other look's alert for this rise was taken back: this one must stand
                # its evidence before the parent hears of it again.
                self._held[key] = _Held(event, release_s=event.detected_s + self.evidence_s)
                return []
            self._announce(look, event.onset_s)
            return [event]
        if all(near.values()):  # the other look's letdown is complete: this is it
            self._dropped.add(key)
        else:
            self._held[key] = _Held(event)
        return []

    def _completed(self, look: str, event: Event, decided: float) -> list[Event]:
        key = (look, event.onset_s)
        if key in self._dropped:
            self._dropped.discard(key)
            return []
        if key in self._held:
            held = self._held[key]
            if event.label == "retracted":  # it collapsed while held: never announced
                del self._held[key]
            else:
                held.completion = event
            return []
        if key in self._released:  # it carries the time it was announced
            event = replace(event, detected_s=self._released.pop(key))
        out = [event]
        if event.onset_s not in self._announced[look]:
            return out
        if event.label == "retracted":
            del self._announced[look][event.onset_s]
            self._retracted[look] = [*self._retracted[look][-_KEEP:], event.onset_s]
        else:
            self._announced[look][event.onset_s] = True
        self._settle(self._other(look), event.onset_s, decided)
        return out

    def _settle(self, look: str, onset: float, decided: float) -> None:
        """``look``'s detections held near the other look's ``onset``, which just completed:
        dropped while a letdown of the other look stands near them, due for announcement
        once none does."""
        other = self._other(look)
        for key in [k for k in self._held if k[0] == look]:
            if abs(key[1] - onset) > self.min_interval_s:
                continue
            near = self._near(other, key[1])
            if near and not all(near.values()):
                continue  # another of its letdowns is still open there
            if near:  # a letdown of the other look stands: this was it
                held = self._held.pop(key)
                if held.completion is None:
                    self._dropped.add(key)
                continue
            held = self._held[key]
            evidence = held.detection.detected_s + self.evidence_s
            held.release_s = max(decided + self._half_bin, evidence)

    def _due(self, decided: float) -> list[Event]:
        """Announce the held detections due by the grid time ``decided``, s."""
        known = decided + self._half_bin
        out: list[Event] = []
        for key in [k for k, h in self._held.items() if h.release_s <= known]:
            held = self._held.pop(key)
            out.append(replace(held.detection, detected_s=held.release_s))
            self._announce(*key)
            self._released[key] = held.release_s
            if held.completion is not None:
                out.extend(self._completed(key[0], held.completion, decided))
        return out
