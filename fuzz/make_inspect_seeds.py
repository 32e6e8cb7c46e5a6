#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpus of fuzz_inspect (fuzz/corpus/inspect/): small COW images, most with a
512-byte chunk size so that a header, an area of 32 entries and data chunks fit in a few KiB
(docs/format.md is the layout), plus the heads of two golden images written by a real kernel.

Usage: fuzz/make_inspect_seeds.py GOLDEN_IMAGE_DIR   (e.g. build-dev/tests/golden)
"""
import pathlib
import struct
import sys

MAGIC = 0x70416E53
SECTOR = 512
OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "inspect"


def header(magic=MAGIC, valid=1, version=1, chunk_sectors=1):
    return struct.pack("<4I", magic, valid, version, chunk_sectors)


def image(head, areas, chunk_sectors, total_chunks, entries_per_area=None):
    """areas: {area index: [(old, new), ...]}; area i lies at chunk 1 + i * (epa + 1)."""
    chunk = chunk_sectors * SECTOR
    epa = entries_per_area or chunk // 16
    data = bytearray(total_chunks * chunk)
    data[0:len(head)] = head
    for index, entries in areas.items():
        at = (1 + index * (epa + 1)) * chunk
        for slot, (old, new) in enumerate(entries):
            data[at + slot * 16:at + slot * 16 + 16] = struct.pack("<2Q", old, new)
    return bytes(data)


def main():
    golden = pathlib.Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = {
        "valid-3-entries": image(header(), {0: [(0, 2), (5, 3), (7, 4)]}, 1, 8),
        "invalid-3-entries": image(header(valid=0), {0: [(0, 2), (5, 3), (7, 4)]}, 1, 8),
        "new-cow": bytes(4 * SECTOR),
        "bad-version": image(header(version=2), {}, 1, 4),
        "bad-chunk-size": image(header(chunk_sectors=3), {}, 1, 4),
        "huge-chunk-size": image(header(chunk_sectors=1 << 21), {}, 1, 2),
        "duplicates": image(header(), {0: [(1, 2), (1, 3), (2, 3), (9, 1), (4, 99)]}, 1, 8),
        "leak-and-stale": image(header(), {0: [(0, 6), (1, 2)]}, 1, 8),
        # Area 0 full (32 entries), area 1 at chunk 34 with two entries.
        "two-areas": image(header(), {0: [(i, 2 + i) for i in range(32)], 1: [(40, 35), (41, 36)]},
                           1, 38),
        "area-past-end": image(header(), {0: [(i, 2 + i) for i in range(32)]}, 1, 34),
        "chunk-8-sectors": image(header(chunk_sectors=8), {0: [(0, 2), (3, 3)]}, 8, 4),
    }
    seeds["leak-and-stale"] = bytearray(seeds["leak-and-stale"])
    seeds["leak-and-stale"][SECTOR + 3 * 16:SECTOR + 4 * 16] = struct.pack("<2Q", 7, 5)
    for name, length in (("a-cs16", 16384), ("d-invalid", 16384)):
        seeds[f"golden-{name}-head"] = (golden / name / "cow.img").read_bytes()[:length]
    for name, data in seeds.items():
        (OUT / name).write_bytes(bytes(data))


if __name__ == "__main__":
    main()
