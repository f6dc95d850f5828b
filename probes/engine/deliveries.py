"""Delivery accounting for broker probes: lost, duplicated and reordered messages.

Every message a probe publishes carries its sequence number ``seq`` (unique
in the run) and a key (``seq % keys``, like a partition key). Order is only
promised per key, so a message counts as reordered when it arrives after a
message of the same key with a higher ``seq``. Only measured messages (sent
after the warm-up) are counted; a message whose publish failed is an error,
not a loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveryCounts:
    published: int
    received: int
    lost: int
    duplicates: int
    reordered: int


class DeliveryLedger:
    """Tracks what was published and what arrived, message by message."""

    __slots__ = ("_published", "_seen", "_highest", "duplicates", "reordered", "received")

    def __init__(self) -> None:
        self._published: set[int] = set()
        self._seen: set[int] = set()
        self._highest: dict[int, int] = {}
        self.duplicates = 0
        self.reordered = 0
        self.received = 0

    def published(self, seq: int) -> None:
        self._published.add(seq)

    def withdrawn(self, seq: int) -> None:
        """The publish failed: the message is an error, not a possible loss."""
        self._published.discard(seq)

    def knows(self, seq: int) -> bool:
        """True for a measured message (published, or already arrived)."""
        return seq in self._published or seq in self._seen

    def arrived(self, key: int, seq: int) -> bool:
        """Record an arrival; True the first time ``seq`` arrives."""
        if seq in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(seq)
        self.received += 1
        highest = self._highest.get(key, -1)
        if seq < highest:
            self.reordered += 1
        else:
            self._highest[key] = seq
        return True

    def counts(self) -> DeliveryCounts:
        return DeliveryCounts(
            published=len(self._published),
            received=self.received,
            lost=len(self._published - self._seen),
            duplicates=self.duplicates,
            reordered=self.reordered,
        )


def count_deliveries(
    published: Iterable[int], arrivals: Iterable[tuple[int, int]]
) -> DeliveryCounts:
    """Counts for published ``seq`` numbers and ``(key, seq)`` arrivals in order."""
    ledger = DeliveryLedger()
    for seq in published:
        ledger.published(seq)
    for key, seq in arrivals:
        ledger.arrived(key, seq)
    return ledger.counts()
