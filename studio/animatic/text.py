"""Text on animatic frames: Pillow's bundled scalable font, word wrapping by measured width,
the caption band and the small labels that say what the frame is."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_MAX_LINES = 3
MIN_FONT_SIZE = 8
WORD_GAP = "  "  # the bundled font's space is a fifth of an em: two read as one normal space


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font at `size` px (Pillow >= 10.1 bundles a scalable one); nothing to download."""
    return ImageFont.load_default(size=max(MIN_FONT_SIZE, int(size)))


def text_width(text: str, face) -> float:
    return ImageDraw.Draw(Image.new("L", (1, 1))).textlength(text, font=face)


def line_height(face) -> int:
    left, top, right, bottom = face.getbbox("Ag")
    return int(bottom - min(top, 0)) + 2


def _split_long_word(word: str, face, max_width: float) -> list[str]:
    """Break a word wider than the line (a URL, a run of letters) into pieces that fit."""
    pieces, current = [], ""
    for char in word:
        if current and text_width(current + char, face) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return pieces + ([current] if current else [])


def wrap_text(text: str, face, max_width: float, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap to `max_width` px; returns (lines, complete). The last line of an incomplete
    wrap ends with an ellipsis, so a long caption never leaves the frame."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        pieces = _split_long_word(word, face, max_width) if text_width(word, face) > max_width else [word]
        for piece in pieces:
            candidate = f"{current}{WORD_GAP}{piece}" if current else piece
            if text_width(candidate, face) <= max_width:
                current = candidate
                continue
            lines.append(current)
            current = piece
        if len(lines) > max_lines:
            break  # no need to measure what will be cut
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines, True
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(last + "…", face) > max_width:
        last = last[:-1].rstrip()
    kept[-1] = last.rstrip(" ,;:") + "…"
    return kept, False


def fit_text(text: str, max_width: float, max_lines: int, size: int) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """The largest font size <= `size` at which `text` wraps into `max_lines`; ellipsis at the smallest."""
    for candidate in range(int(size), MIN_FONT_SIZE - 1, -1):
        lines, complete = wrap_text(text, font(candidate), max_width, max_lines)
        if complete:
            return lines, font(candidate)
    face = font(MIN_FONT_SIZE)
    return wrap_text(text, face, max_width, max_lines)[0], face


def caption_overlay(text: str, width: int, height: int) -> np.ndarray:
    """An RGBA (H, W, 4) layer with `text` wrapped in a translucent band at the bottom of the frame."""
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if not text.strip():
        return np.asarray(layer)
    margin = max(4, width // 40)
    pad = max(3, width // 64)
    lines, face = fit_text(text, width - 2 * (margin + pad), CAPTION_MAX_LINES, max(MIN_FONT_SIZE, height // 18))
    step = line_height(face)
    band_height = step * len(lines) + 2 * pad
    top = height - margin - band_height
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle((margin, top, width - margin, height - margin), radius=pad * 2, fill=(12, 14, 20, 175))
    for row, line in enumerate(lines):
        line_width = text_width(line, face)
        draw.text(((width - line_width) / 2, top + pad + row * step), line, font=face, fill=(255, 255, 255, 255))
    return np.asarray(layer)


def label_strip_height(height: int) -> int:
    """Rows at the top of a frame that carry the per-frame labels (everything below is the picture)."""
    face = font(max(MIN_FONT_SIZE, height // 24))
    return max(4, height // 64) * 2 + line_height(face) + 4


def draw_labels(frame: np.ndarray, left: str, right: str) -> np.ndarray:
    """Draw two small pills on the top strip of `frame` (H, W, 3): `left` in the animatic yellow,
    `right` (the camera move and time) in white. Returns a new array."""
    height, width = frame.shape[:2]
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image, "RGBA")
    face = font(max(MIN_FONT_SIZE, height // 24))
    left, right = left.replace(" ", WORD_GAP), right.replace(" ", WORD_GAP)
    margin = max(4, width // 64)
    pad = max(2, width // 100)
    box_height = line_height(face) + 2 * pad
    left_width = text_width(left, face)
    draw.rounded_rectangle((margin, margin, margin + left_width + 2 * pad, margin + box_height), radius=pad * 2,
                           fill=(250, 204, 21, 230))
    draw.text((margin + pad, margin + pad), left, font=face, fill=(20, 20, 20, 255))
    right_width = text_width(right, face)
    x0 = width - margin - right_width - 2 * pad
    if x0 > margin + left_width + 3 * pad:  # skip the right pill on frames too narrow for both
        draw.rounded_rectangle((x0, margin, width - margin, margin + box_height), radius=pad * 2, fill=(12, 14, 20, 175))
        draw.text((x0 + pad, margin + pad), right, font=face, fill=(255, 255, 255, 255))
    return np.asarray(image)


def composite(frame: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Alpha-blend an RGBA overlay (H, W, 4) onto an RGB frame (H, W, 3); uint8 in and out."""
    alpha = overlay[..., 3:4].astype(np.uint16)  # (H, W, 1)
    if not alpha.any():
        return frame
    blended = (overlay[..., :3].astype(np.uint16) * alpha + frame.astype(np.uint16) * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)
