# SPDX-License-Identifier: MIT
"""Checks a browser's screenshot of kpgo bench's HTML report: the charts were drawn.

    report_screenshot.py SHOT.png [--ratios R,R,...]

The reference kernel's bars, the second kernel's bars and the band behind trained workloads
must all be there, in the colours the report uses (include/kpgo/bench/html_report.hpp). With
--ratios, the second kernel's bars must have exactly those heights relative to the reference's
(every reference bar is 1, and every chart's scale must be the same: its top at 1.1).
"""
import argparse
import struct
import sys
import zlib

REFERENCE = (0x44, 0x77, 0xAA)
SECOND = (0xEE, 0x66, 0x77)
TRAINED_BAND = (0xFB, 0xE9, 0xA6)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    """Rows of (r, g, b) tuples of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    at, idat, header = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        sys.exit(f"{path}: depth {depth}, colour type {colour}, interlace {interlace}: not read here")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            predictor = (0, left, up, (left + up) // 2, paeth(left, up, corner))[kind]
            line[x] = (line[x] + predictor) & 0xFF
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        previous = line
    return rows


def column_runs(rows, colour):
    """Every vertical run of pixels of exactly that colour, in every column (charts stand one
    above the other: a column crosses a bar of each)."""
    runs = []
    for x in range(len(rows[0])):
        current = 0
        for row in rows + [[None] * len(rows[0])]:
            if row[x] == colour:
                current += 1
            elif current:
                runs.append(current)
                current = 0
    return runs


def bar_heights(runs):
    """Heights of bars: run lengths found in at least 20 columns (a bar is 24 columns wide
    inside its antialiased edges), taller than the legends' 14-pixel swatches."""
    counts = {}
    for run in runs:
        counts[run] = counts.get(run, 0) + 1
    return sorted(run for run, columns in counts.items() if columns >= 20 and run > 30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("png")
    parser.add_argument("--ratios", default="")
    args = parser.parse_args()
    rows = read_png(args.png)
    counts = {REFERENCE: 0, SECOND: 0, TRAINED_BAND: 0}
    for row in rows:
        for pixel in row:
            if pixel in counts:
                counts[pixel] += 1
    for colour, name in ((REFERENCE, "reference kernel's bars"), (SECOND, "second kernel's bars"),
                         (TRAINED_BAND, "trained workloads' band")):
        if counts[colour] < 500:
            sys.exit(f"{args.png}: {counts[colour]} pixels of the {name} (#{bytes(colour).hex()})")
    if not args.ratios:
        return
    reference = bar_heights(column_runs(rows, REFERENCE))
    if len(reference) != 1:
        sys.exit(f"{args.png}: the reference bars are not all one height: {reference}")
    drawn = [round(h / reference[0], 3) for h in bar_heights(column_runs(rows, SECOND))]
    wanted = sorted(float(r) for r in args.ratios.split(","))
    # A bar's top may fall between two pixels: a pixel of about 190 either way.
    if len(drawn) != len(wanted) or any(abs(d - w) > 0.012 for d, w in zip(drawn, wanted)):
        sys.exit(f"{args.png}: the second kernel's bars are {drawn} of the reference's, not {wanted}")
    print(f"bars drawn at {drawn} of the reference's {reference[0]} pixels")


main()
