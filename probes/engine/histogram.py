"""HDR histograms of latencies: recording, encoding and exact merging.

Every histogram in Archway has the same shape: values in microseconds, range
1 µs .. 60 s, 3 significant digits. Because the shape is fixed, two
histograms have identical bucket layouts, so merging is adding the count
arrays bucket by bucket. Nothing is approximated: the merge of shard
histograms is exactly the histogram that one generator would have recorded
had it seen all the values, so every percentile of the merge equals the
percentile over all the values (to the histogram's 0.1 % resolution, which
was already applied when each value was recorded).

Encoded histograms use the HdrHistogram V2 compressed format (zlib + base64),
the same bytes other HdrHistogram implementations read.

:class:`Recorder` is the hot path: it computes the bucket index with a few
integer operations and bumps the counter, and fixes up the histogram's
total/min/max once at the end, which keeps recording cheap enough to run
inline on every response. ``record_many`` does the same for an array of
values at once in numpy, for callers that collect times and record them in
batches (broker probes, whose per-message work is otherwise mostly this).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3

PERCENTILES = {
    "p50_ms": 50.0,
    "p90_ms": 90.0,
    "p95_ms": 95.0,
    "p99_ms": 99.0,
    "p999_ms": 99.9,
}


def new_histogram() -> HdrHistogram:
    """An empty histogram in microseconds, 1 µs .. 60 s, 3 significant digits."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def encode_histogram(h: HdrHistogram) -> str:
    """The histogram as compressed base64 (HdrHistogram V2 wire format)."""
    encoded = h.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)


def decode_histogram(s: str) -> HdrHistogram:
    """Decode :func:`encode_histogram`; an empty string gives an empty histogram."""
    if not s:
        return new_histogram()
    h = HdrHistogram.decode(s.encode("ascii") if isinstance(s, str) else s)
    if h.get_total_count() == 0:
        return new_histogram()
    return h


def merge_histograms(histograms: Iterable[HdrHistogram | str]) -> HdrHistogram:
    """Exact merge: bucket counts are added (all inputs share one layout)."""
    merged = new_histogram()
    for h in histograms:
        other = decode_histogram(h) if isinstance(h, str) else h
        if other.get_total_count():
            merged.add(other)
    return merged


def value_at_percentile(h: HdrHistogram, percentile: float) -> int:
    """Same answer as ``HdrHistogram.get_value_at_percentile``, computed in C loops.

    The library walks the whole counts array in Python; this takes the
    running sum with ``itertools.accumulate`` and bisects it, which matters
    when progress is reported several times a second during a run.
    """
    total = h.get_total_count()
    if total == 0:
        return 0
    target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
    running = list(itertools.accumulate(h.counts))
    index = bisect.bisect_left(running, target)
    if index >= h.counts_len:
        return 0
    value = h.get_value_from_index(index)
    if percentile:
        return int(h.get_highest_equivalent_value(value))
    return int(h.get_lowest_equivalent_value(value))


def summarize(h: HdrHistogram | str) -> dict[str, float | int]:
    """``p50_ms .. p999_ms``, ``max_ms`` and ``count`` of a histogram."""
    hist = decode_histogram(h) if isinstance(h, str) else h
    count = hist.get_total_count()
    out: dict[str, float | int] = {}
    for key, pct in PERCENTILES.items():
        out[key] = round(value_at_percentile(hist, pct) / 1000, 3) if count else 0.0
    out["max_ms"] = round(hist.get_max_value() / 1000, 3) if count else 0.0
    out["count"] = count
    return out


class Recorder:
    """Fast recording into one :func:`new_histogram` layout.

    ``record(us)`` is inlined integer arithmetic on the ctypes counts array.
    Call :meth:`finish` before reading the histogram: it recomputes total,
    min and max from the counts (what the library tracks per record).
    """

    __slots__ = (
        "histogram",
        "count",
        "_counts",
        "_buckets",
        "_mask",
        "_unit",
        "_shift",
        "_half",
        "_half_mag",
        "_top",
        "_counts_array",
    )

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        h = histogram if histogram is not None else new_histogram()
        self.histogram = h
        self._counts = h.counts
        self._mask = h.sub_bucket_mask
        self._unit = h.unit_magnitude
        self._half_mag = h.sub_bucket_half_count_magnitude
        self._half = h.sub_bucket_half_count
        self._shift = h.unit_magnitude + h.sub_bucket_half_count_magnitude + 1
        self._top = HIGHEST_US
        self._counts_array = np.ctypeslib.as_array(h.counts)  # a view: writes go to h.counts
        # Per-bucket totals let a percentile be found by walking ~27 buckets and
        # then one bucket's counters, instead of the whole 17k-entry array.
        self._buckets = [0] * (h.bucket_count + 1)
        self.count = 0

    def record(self, us: int) -> None:
        if us < 0:
            us = 0
        elif us > self._top:
            us = self._top
        bucket = (us | self._mask).bit_length() - self._shift
        sub = us >> (bucket + self._unit)
        self._counts[((bucket + 1) << self._half_mag) + sub - self._half] += 1
        self._buckets[bucket] += 1
        self.count += 1

    def record_many(self, values_us: np.ndarray) -> None:
        """``record`` of every value of an integer array, vectorised (same buckets)."""
        if not len(values_us):
            return
        us = np.clip(values_us, 0, self._top).astype(np.int64)
        # frexp's exponent is the bit length (exact: values are below 2**53).
        bucket = np.frexp((us | self._mask).astype(np.float64))[1].astype(np.int64) - self._shift
        index = ((bucket + 1) << self._half_mag) + (us >> (bucket + self._unit)) - self._half
        counts = self._counts_array
        if len(index) < 256:  # cheaper than a bincount over all 17k counters
            np.add.at(counts, index, 1)
        else:
            counts += np.bincount(index, minlength=len(counts)).astype(counts.dtype)
        per_bucket = np.bincount(bucket, minlength=len(self._buckets)).tolist()
        self._buckets = [a + b for a, b in zip(self._buckets, per_bucket, strict=True)]
        self.count += len(us)

    def value_at_percentile(self, percentile: float) -> int:
        """The percentile of what was recorded so far, cheaply (for live progress)."""
        if self.count == 0:
            return 0
        target = max(int(min(percentile, 100.0) * self.count / 100 + 0.5), 1)
        seen = 0
        bucket = 0
        while bucket < len(self._buckets) and seen + self._buckets[bucket] < target:
            seen += self._buckets[bucket]
            bucket += 1
        if bucket == len(self._buckets):
            return 0
        if bucket == 0:
            start, end = 0, 2 * self._half
        else:
            start = (bucket + 1) << self._half_mag
            end = start + self._half
        h = self.histogram
        for offset, n in enumerate(self._counts[start:end]):
            seen += n
            if seen >= target:
                value = h.get_value_from_index(start + offset)
                if percentile:
                    return int(h.get_highest_equivalent_value(value))
                return int(h.get_lowest_equivalent_value(value))
        return 0

    def finish(self) -> HdrHistogram:
        h = self.histogram
        counts = list(h.counts)
        total = sum(counts)
        if total:
            lo = next(i for i, c in enumerate(counts) if c)
            hi = len(counts) - 1 - next(i for i, c in enumerate(reversed(counts)) if c)
            h.set_internal_tacking_values(lo, hi, total)
        return h
