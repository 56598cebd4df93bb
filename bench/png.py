"""A bar chart as a PNG, in pure Python (zlib + struct): matplotlib is not a dependency of the project.

`bar_chart(path, panels)` draws one panel per metric, one bar per scenario, labelled with a 3×5 pixel font
scaled ×2 (upper-case letters, digits and a few signs; other characters render as blanks).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

_FONT = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
    "Q": "010101101110011", "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111", "0": "111101101101111", "1": "010110010010111",
    "2": "110001010100111", "3": "110001010001110", "4": "101101111001001", "5": "111100110001110",
    "6": "011100111101111", "7": "111001010010010", "8": "111101111101111", "9": "111101111001110",
    ".": "000000000000010", ",": "000000000010100", ":": "000010000010000", "-": "000000111000000",
    "%": "101001010100101", "/": "001001010100100", "(": "010100100100010", ")": "010001001001010",
    "=": "000111000111000", "+": "000010111010000", "<": "001010100010001", ">": "100010001010100",
    " ": "000000000000000",
}
PALETTE = [(46, 117, 182), (237, 125, 49), (112, 173, 71), (165, 105, 189), (200, 60, 60), (90, 90, 90)]
WHITE, BLACK, GREY = (255, 255, 255), (20, 20, 20), (200, 200, 200)


class Canvas:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start: start + len(row)] = row

    def text(self, x: int, y: int, text: str, colour: tuple[int, int, int] = BLACK, scale: int = 2) -> int:
        """Draw `text` with its top-left corner at (x, y); returns the width drawn."""
        for i, char in enumerate(text.upper()):
            glyph = _FONT.get(char, _FONT[" "])
            for bit, on in enumerate(glyph):
                if on == "1":
                    gx, gy = x + i * 4 * scale + (bit % 3) * scale, y + (bit // 3) * scale
                    self.rect(gx, gy, gx + scale, gy + scale, colour)
        return len(text) * 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}K"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def bar_chart(path: Path, title: str, panels: list[tuple[str, list[tuple[str, float]]]]) -> None:
    """One horizontal-bar panel per (metric, [(label, value)]); bars scaled to the panel's largest value."""
    label_w, bar_w, row_h, pad = 300, 520, 22, 14
    heights = [pad * 3 + row_h * len(rows) for _, rows in panels]
    canvas = Canvas(label_w + bar_w + 110, 40 + sum(heights))
    canvas.text(pad, 12, title, scale=3)
    y = 40
    for (metric, rows), height in zip(panels, heights, strict=True):
        canvas.text(pad, y + 4, metric)
        top = y + pad * 2
        peak = max((v for _, v in rows), default=0) or 1
        canvas.rect(label_w, top - 4, label_w + 1, top + row_h * len(rows), GREY)
        for i, (label, value) in enumerate(rows):
            ry = top + i * row_h
            canvas.text(pad, ry + 5, label[:36])
            length = int(bar_w * value / peak)
            canvas.rect(label_w + 1, ry + 2, label_w + 1 + max(1, length), ry + row_h - 4,
                        PALETTE[i % len(PALETTE)])
            canvas.text(label_w + length + 8, ry + 5, _fmt(value))
        y += height
    Path(path).write_bytes(canvas.png())
