"""Decoder throughput: samples/s and frames/s on one core (single thread), against a naive baseline.

    python benchmarks/bench_decoder.py [--seconds-of-data 3600] [--repeat 3]

Streams are encoded with ``firmware_bridge.protocol`` (the firmware's own
encoder) and fed to ``StreamDecoder`` in serial-sized chunks. The baseline is
what a first implementation would do: find the sync, check the CRC with the
firmware's pure-Python CRC-32, unpack sample by sample. Target (issue 4):
>= 1 million samples/s decoded on one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import struct
import time

import numpy as np

from firmware_bridge import StreamDecoder, protocol


def binary_stream(samples: int, per_frame: int, k: int, seed: int = 0) -> tuple[bytes, int]:
    """An info frame then sample frames at 20 Hz; returns ``(bytes, frames)``."""
    rng = np.random.default_rng(seed)
    values = rng.normal(150, 40, (samples, k)).astype(np.float32)
    channels = ("weight_g", "pressure_pa", "volume_ml")[:k]
    parts = [protocol.encode_info(0, 0, channels, 20, {"g_per_ml": 1.03}, "bench")]
    offsets = [50 * i for i in range(per_frame)]
    for seq, start in enumerate(range(0, samples, per_frame), start=1):
        rows = values[start : start + per_frame]
        parts.append(
            protocol.encode_samples(seq, 50 * start, offsets[: len(rows)], rows.ravel().tolist(), k)
        )
    return b"".join(parts), len(parts)


def text_stream(samples: int, seed: int = 0) -> bytes:
    """A text header and one line per sample."""
    rng = np.random.default_rng(seed)
    head = protocol.text_header(("weight_g",), 20, {"g_per_ml": 1.03}, "bench")
    lines = [protocol.text_line(50 * i, [v]) for i, v in enumerate(rng.normal(150, 40, samples))]
    return (head + "".join(lines)).encode()


def naive_decode(data: bytes) -> int:
    """Baseline: one frame at a time, pure-Python CRC, struct per sample; returns samples."""
    pos, samples = 0, 0
    while True:
        pos = data.find(protocol.SYNC, pos)
        if pos < 0 or len(data) - pos < protocol.HEADER_LEN + protocol.CRC_LEN:
            return samples
        _, ftype, length, _, _ = struct.unpack_from("<BBHHI", data, pos + 2)
        end = pos + protocol.HEADER_LEN + length + protocol.CRC_LEN
        body = data[pos + 2 : end - protocol.CRC_LEN]
        if end > len(data) or protocol.crc32(body) != struct.unpack_from("<I", data, end - 4)[0]:
            pos += 1
            continue
        if ftype == protocol.FRAME_SAMPLES:
            n, k = body[10], body[11]
            for i in range(n):
                struct.unpack_from("<H", body, 12 + 2 * i)
                struct.unpack_from(f"<{k}f", body, 12 + 2 * n + 4 * k * i)
                samples += 1
        pos = end


def decode(data: bytes, chunk: int, channels: tuple[str, ...]) -> int:
    """``StreamDecoder`` over ``data`` in ``chunk``-byte pieces; returns samples."""
    decoder = StreamDecoder(channels)
    samples = 0
    for start in range(0, len(data), chunk):
        for item in decoder.feed(data[start : start + chunk]):
            values = getattr(item, "values", None)
            if values is not None:
                samples += len(values)
    return samples


def best_time(fn, repeat: int) -> tuple[float, int]:
    """Fastest of ``repeat`` runs, s, and the function's result."""
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-of-data", type=float, default=3600.0, help="at 20 Hz")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = int(args.seconds_of_data * 20)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f} (the decoder is single-threaded)"
    )
    print(f"{n} samples per stream ({args.seconds_of_data:g} s at 20 Hz), best of {args.repeat}")
    header = f"{'stream':<28}{'decoder':<22}{'samples/s':>14}{'frames/s':>12}{'MB/s':>8}"
    print(header)
    print("-" * len(header))
    cases = [(1, 1), (10, 1), (10, 2), (50, 1), (protocol.max_samples_per_frame(1), 1)]
    for per_frame, k in cases:
        data, frames = binary_stream(n, per_frame, k)
        channels = ("weight_g", "pressure_pa", "volume_ml")[:k]
        name = f"binary {per_frame}/frame x{k} ch"
        runs = [
            ("StreamDecoder 4 KiB", lambda d=data, c=channels: decode(d, 4096, c)),
            ("StreamDecoder 64 KiB", lambda d=data, c=channels: decode(d, 65536, c)),
        ]
        if per_frame == 10 and k == 1:
            runs.append(("naive baseline", lambda d=data: naive_decode(d)))
        for label, fn in runs:
            seconds, samples = best_time(fn, args.repeat)
            assert samples == n, (label, samples, n)
            print(
                f"{name:<28}{label:<22}{samples / seconds:>14,.0f}{frames / seconds:>12,.0f}"
                f"{len(data) / seconds / 1e6:>8.1f}"
            )
    data = text_stream(n)
    seconds, samples = best_time(lambda: decode(data, 4096, ("weight_g",)), args.repeat)
    assert samples == n
    print(
        f"{'text 1 line/sample':<28}{'StreamDecoder 4 KiB':<22}{samples / seconds:>14,.0f}"
        f"{samples / seconds:>12,.0f}{len(data) / seconds / 1e6:>8.1f}"
    )


if __name__ == "__main__":
    main()
