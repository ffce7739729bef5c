"""Backgrounds from scene text: a theme (forest, beach, city, ...) picked by keyword, a time of day,
and a few simple shapes placed by a seeded generator, so the same text and seed give the same picture."""

from __future__ import annotations

import colorsys
import re
import zlib
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

Color = tuple[int, int, int]
SUPERSAMPLE = 2  # shapes are drawn at 2x and downsampled: PIL draws without anti-aliasing


def stable_hash(text: str) -> int:
    """A hash that is the same in every process (Python's hash() of str is salted per run)."""
    return zlib.crc32(text.encode("utf-8"))


def words_of(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    # Plural and -ing forms match their keyword ("trees", "snowing").
    return words | {w[:-1] for w in words if w.endswith("s")} | {w[:-3] for w in words if w.endswith("ing")}


@dataclass(frozen=True)
class Theme:
    name: str
    keywords: tuple[str, ...]
    sky: tuple[Color, Color]  # top, horizon
    ground: tuple[Color, Color]  # horizon, bottom
    horizon: float  # fraction of the height where the ground starts


THEMES: tuple[Theme, ...] = (
    Theme("space", ("space", "galaxy", "planet", "nebula", "asteroid", "spaceship", "cosmos", "orbit", "astronaut"),
          ((6, 8, 28), (38, 24, 70)), ((70, 66, 80), (40, 38, 48)), 0.82),
    Theme("underwater", ("underwater", "reef", "coral", "seabed", "submarine", "aquarium"),
          ((8, 60, 110), (20, 120, 150)), ((190, 170, 120), (140, 120, 80)), 0.8),
    Theme("room", ("room", "kitchen", "bedroom", "office", "indoor", "indoors", "inside", "house", "home", "library",
                   "cafe", "restaurant", "classroom", "studio", "apartment", "hall", "bar", "shop", "lab"),
          ((214, 196, 170), (196, 176, 150)), ((140, 98, 66), (104, 70, 46)), 0.66),
    Theme("cave", ("cave", "cavern", "dungeon", "tunnel", "mine", "underground"),
          ((28, 24, 30), (60, 50, 52)), ((70, 60, 56), (36, 30, 30)), 0.72),
    Theme("city", ("city", "street", "town", "downtown", "skyline", "urban", "market", "alley", "road", "building",
                   "village", "rooftop"),
          ((120, 170, 220), (200, 215, 230)), ((96, 98, 106), (60, 62, 70)), 0.66),
    Theme("snow", ("snow", "snowy", "winter", "ice", "icy", "arctic", "glacier", "frozen", "blizzard"),
          ((150, 180, 210), (225, 235, 245)), ((240, 245, 250), (205, 215, 230)), 0.62),
    Theme("desert", ("desert", "dune", "sand", "sahara", "canyon", "oasis"),
          ((90, 160, 220), (240, 220, 170)), ((232, 190, 120), (200, 150, 80)), 0.6),
    Theme("beach", ("beach", "shore", "coast", "seaside", "island", "tropical", "bay"),
          ((80, 170, 230), (190, 230, 245)), ((240, 220, 160), (220, 195, 130)), 0.58),
    Theme("ocean", ("ocean", "sea", "wave", "boat", "ship", "sail", "sailing", "harbor", "lake", "river"),
          ((90, 160, 220), (200, 225, 240)), ((30, 100, 160), (14, 60, 110)), 0.55),
    Theme("mountain", ("mountain", "peak", "cliff", "hill", "valley", "summit", "volcano"),
          ((100, 160, 215), (205, 225, 240)), ((96, 130, 80), (60, 90, 50)), 0.66),
    Theme("forest", ("forest", "wood", "woods", "jungle", "tree", "grove", "pine", "rainforest"),
          ((120, 180, 210), (200, 225, 205)), ((60, 110, 50), (34, 70, 30)), 0.64),
    Theme("field", ("field", "meadow", "garden", "park", "farm", "grass", "flower", "countryside", "prairie"),
          ((110, 175, 230), (210, 232, 245)), ((110, 170, 70), (70, 130, 45)), 0.62),
)

NIGHT_WORDS = ("night", "midnight", "moon", "moonlight", "dark", "stars", "starry", "nighttime")
DUSK_WORDS = ("sunset", "dusk", "evening", "dawn", "sunrise", "twilight", "golden")
RAIN_WORDS = ("rain", "rainy", "storm", "stormy", "thunder", "drizzle")
SNOWFALL_WORDS = ("snowing", "snowfall", "snowflake", "blizzard", "snowstorm")


@dataclass(frozen=True)
class Look:
    """What the text asks for: a theme, a time of day and the weather."""

    theme: Theme
    time: str  # day | dusk | night
    weather: str  # clear | rain | snow


def choose_look(primary: str, secondary: str = "") -> Look:
    """Pick the look from the scene's background text first, then its event text; a text with no known
    place word gets a palette hashed from the text, so different places still look different."""
    theme = _first_theme(primary) or _first_theme(secondary)
    words_all = words_of(primary + " " + secondary)
    if theme is None:
        hue = (stable_hash(primary or secondary) % 360) / 360.0
        sky_top = _hsv(hue, 0.45, 0.85)
        sky_low = _hsv(hue + 0.05, 0.2, 0.95)
        ground = (_hsv(hue + 0.5, 0.35, 0.55), _hsv(hue + 0.5, 0.4, 0.35))
        theme = Theme("abstract", (), (sky_top, sky_low), ground, 0.64)
    time = "night" if words_all & set(NIGHT_WORDS) else "dusk" if words_all & set(DUSK_WORDS) else "day"
    weather = "rain" if words_all & set(RAIN_WORDS) else "snow" if words_all & set(SNOWFALL_WORDS) else "clear"
    return Look(theme, time, weather)


def _first_theme(text: str) -> Theme | None:
    """The theme named earliest in `text` ("a snowy city" is snow, "a city in the snow" is city)."""
    for word in re.findall(r"[a-z]+", text.lower()):
        forms = {word, word[:-1] if word.endswith("s") else word, word[:-3] if word.endswith("ing") else word}
        for theme in THEMES:
            if forms & set(theme.keywords):
                return theme
    return None


def _hsv(h: float, s: float, v: float) -> Color:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _mix(a: Color, b: Color, t: float) -> Color:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def _shade(color: Color, factor: float) -> Color:
    return tuple(int(min(255, max(0, c * factor))) for c in color)  # type: ignore[return-value]


def _gradient(top: Color, bottom: Color, height: int, width: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, max(height, 1), dtype=np.float32)[:, None, None]  # (h, 1, 1)
    column = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t  # (h, 1, 3)
    return np.repeat(column, width, axis=1).round().astype(np.uint8)  # (h, w, 3)


def _sky_colors(look: Look) -> tuple[Color, Color]:
    top, low = look.theme.sky
    if look.theme.name in ("space", "underwater", "room", "cave"):
        return top, low  # no sky to relight
    if look.time == "night":
        return (10, 14, 40), (40, 50, 90)
    if look.time == "dusk":
        return (70, 60, 130), (250, 150, 90)
    if look.weather == "rain":
        return (90, 100, 115), (150, 158, 168)
    return top, low


def paint_background(look: Look, width: int, height: int, seed: int) -> Image.Image:
    """The background at (width, height): sky and ground gradients plus the theme's shapes."""
    big_w, big_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    horizon = int(look.theme.horizon * big_h)
    sky_top, sky_low = _sky_colors(look)
    ground_top, ground_low = look.theme.ground
    if look.time == "night" and look.theme.name not in ("room", "space", "underwater"):
        ground_top, ground_low = _shade(ground_top, 0.45), _shade(ground_low, 0.45)
    pixels = np.concatenate([_gradient(sky_top, sky_low, horizon, big_w),
                             _gradient(ground_top, ground_low, big_h - horizon, big_w)], axis=0)  # (H, W, 3)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng([stable_hash(look.theme.name), seed % (2**32)])
    if look.time == "night" and look.theme.name not in ("room", "cave", "underwater"):
        _stars(draw, rng, big_w, horizon, 60)
        _disc(draw, (int(big_w * rng.uniform(0.62, 0.85)), int(horizon * 0.22)), big_h // 14, (240, 238, 215))
    elif look.theme.name not in ("room", "cave", "underwater", "space") and look.weather == "clear":
        sun = (255, 190, 110) if look.time == "dusk" else (255, 236, 150)
        _disc(draw, (int(big_w * rng.uniform(0.15, 0.35)), int(horizon * (0.75 if look.time == "dusk" else 0.25))),
              big_h // 12, sun)
    PAINTERS.get(look.theme.name, _paint_abstract)(draw, rng, big_w, big_h, horizon, look)
    return image.resize((width, height), Image.Resampling.LANCZOS)


# ----------------------------------------------------------------------------- theme painters
# Each draws on the supersampled image: (draw, rng, width, height, horizon_y, look).


def _disc(draw: ImageDraw.ImageDraw, center: tuple[int, int], radius: int, fill: Color) -> None:
    x, y = center
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def _stars(draw, rng, width, bottom, count) -> None:
    for _ in range(count):
        x, y = int(rng.uniform(0, width)), int(rng.uniform(0, bottom * 0.95))
        r = int(rng.choice([1, 1, 2, 3]))
        _disc(draw, (x, y), r, _mix((255, 255, 255), (200, 210, 255), float(rng.uniform())))


def _hills(draw, rng, width, base_y, amplitude, fill, bumps=3) -> None:
    xs = np.linspace(0, width, 48)
    phase = rng.uniform(0, 2 * np.pi)
    ys = base_y - amplitude * (0.6 + 0.4 * np.sin(xs / width * bumps * np.pi + phase))
    draw.polygon([(0, base_y + 4)] + list(zip(xs.tolist(), ys.tolist())) + [(width, base_y + 4)], fill=fill)


def _pine(draw, x, base, size, fill, trunk=(80, 56, 36), snow=False) -> None:
    draw.rectangle((x - size * 0.08, base - size * 0.25, x + size * 0.08, base), fill=trunk)
    for level in range(3):
        top = base - size * (0.45 + level * 0.25) - size * 0.35
        half = size * (0.42 - level * 0.1)
        y = base - size * (0.2 + level * 0.25)
        draw.polygon([(x - half, y), (x + half, y), (x, top)], fill=fill)
        if snow:
            draw.polygon([(x - half * 0.35, top + size * 0.16), (x + half * 0.35, top + size * 0.16), (x, top)],
                         fill=(245, 248, 252))


def _paint_forest(draw, rng, w, h, horizon, look) -> None:
    far, near = (_shade(look.theme.ground[0], 0.8), _shade(look.theme.ground[1], 0.75))
    for depth, (count, size, color) in enumerate(((14, h * 0.16, far), (7, h * 0.3, near))):
        for x in np.sort(rng.uniform(-0.05, 1.05, count)) * w:
            base = horizon + depth * h * 0.1 + rng.uniform(0, h * 0.04)
            _pine(draw, x, base, size * rng.uniform(0.8, 1.2), color, snow=look.theme.name == "snow")


def _paint_snow(draw, rng, w, h, horizon, look) -> None:
    _paint_mountain(draw, rng, w, h, horizon, look)
    for x in rng.uniform(0, 1, 6) * w:
        _pine(draw, x, horizon + rng.uniform(0.02, 0.2) * h, h * rng.uniform(0.12, 0.22), (40, 80, 60), snow=True)


def _paint_mountain(draw, rng, w, h, horizon, look) -> None:
    rock = (110, 115, 135) if look.time != "night" else (50, 55, 75)
    for i in range(4):
        cx, half, peak = rng.uniform(0, 1) * w, rng.uniform(0.2, 0.35) * w, horizon - rng.uniform(0.2, 0.4) * h
        draw.polygon([(cx - half, horizon + 2), (cx, peak), (cx + half, horizon + 2)], fill=_shade(rock, 0.85 + 0.1 * i))
        cap = 0.28
        draw.polygon([(cx - half * cap, peak + (horizon - peak) * cap), (cx, peak),
                      (cx + half * cap, peak + (horizon - peak) * cap)], fill=(245, 248, 252))
    _hills(draw, rng, w, horizon + h * 0.05, h * 0.06, look.theme.ground[0], bumps=2)


def _paint_city(draw, rng, w, h, horizon, look) -> None:
    night = look.time == "night"
    for layer, (shade, max_height) in enumerate(((0.75, 0.35), (0.5, 0.26))):
        x = -rng.uniform(0, 0.05) * w
        while x < w:
            bw, bh = rng.uniform(0.06, 0.13) * w, rng.uniform(0.08, max_height) * h
            color = _shade((120, 128, 150) if not night else (50, 55, 80), shade + 0.15 * layer)
            draw.rectangle((x, horizon - bh, x + bw, horizon), fill=color)
            window = (255, 220, 120) if night else _shade(color, 1.35)
            step = max(6, int(w * 0.018))
            for wy in range(int(horizon - bh + step), int(horizon - step), step * 2):
                for wx in range(int(x + step * 0.6), int(x + bw - step), step * 2):
                    if rng.uniform() < (0.55 if night else 0.8):
                        draw.rectangle((wx, wy, wx + step * 0.8, wy + step), fill=window)
            x += bw + rng.uniform(0.0, 0.02) * w
    draw.rectangle((0, horizon + h * 0.12, w, horizon + h * 0.14), fill=(230, 230, 230) if not night else (150, 150, 120))


def _waves(draw, rng, w, top, bottom, color, rows=6) -> None:
    for row in range(rows):
        y = top + (bottom - top) * (row + 0.5) / rows
        for x in rng.uniform(0, 1, 5 + row) * w:
            length = w * 0.04 * (1 + row * 0.3)
            draw.arc((x - length, y - length * 0.25, x + length, y + length * 0.25), 200, 340, fill=color,
                     width=max(2, row + 1))


def _paint_beach(draw, rng, w, h, horizon, look) -> None:
    sea_bottom = horizon + h * 0.1
    draw.rectangle((0, horizon - h * 0.02, w, sea_bottom), fill=(40, 130, 190) if look.time != "night" else (20, 50, 90))
    _waves(draw, rng, w, horizon, sea_bottom, (220, 240, 250), rows=2)
    for x in (rng.uniform(0.05, 0.25) * w, rng.uniform(0.75, 0.95) * w):
        base = sea_bottom + h * 0.15
        draw.line((x, base, x + w * 0.03, base - h * 0.28), fill=(120, 80, 40), width=int(w * 0.015))
        for angle in range(0, 360, 60):
            tip = (x + w * 0.03 + np.cos(np.radians(angle)) * w * 0.08, base - h * 0.28 + np.sin(np.radians(angle)) * h * 0.04 + h * 0.02)
            draw.line((x + w * 0.03, base - h * 0.28, *tip), fill=(40, 130, 60), width=int(w * 0.012))


def _paint_ocean(draw, rng, w, h, horizon, look) -> None:
    _waves(draw, rng, w, horizon, h, (200, 230, 245) if look.time != "night" else (90, 120, 170))
    x = rng.uniform(0.6, 0.9) * w
    draw.ellipse((x - w * 0.08, horizon - h * 0.03, x + w * 0.08, horizon + h * 0.01), fill=(70, 110, 70))


def _paint_desert(draw, rng, w, h, horizon, look) -> None:
    for i in range(3):
        _hills(draw, rng, w, horizon + h * (0.06 + 0.1 * i), h * 0.07, _shade(look.theme.ground[0], 1.0 - 0.08 * i), bumps=2)
    x, base = rng.uniform(0.1, 0.9) * w, horizon + h * 0.22
    green = (60, 120, 60)
    draw.rounded_rectangle((x - w * 0.015, base - h * 0.16, x + w * 0.015, base), radius=int(w * 0.015), fill=green)
    draw.rounded_rectangle((x - w * 0.05, base - h * 0.12, x - w * 0.03, base - h * 0.06), radius=int(w * 0.01), fill=green)
    draw.rounded_rectangle((x + w * 0.03, base - h * 0.14, x + w * 0.05, base - h * 0.08), radius=int(w * 0.01), fill=green)


def _paint_field(draw, rng, w, h, horizon, look) -> None:
    _hills(draw, rng, w, horizon + h * 0.04, h * 0.06, _shade(look.theme.ground[0], 0.9), bumps=2)
    colors = ((240, 90, 110), (250, 220, 80), (250, 250, 250), (180, 110, 230))
    for _ in range(50):
        x, y = rng.uniform(0, w), rng.uniform(horizon + h * 0.06, h)
        _disc(draw, (int(x), int(y)), int(h * 0.006 + (y - horizon) * 0.012), colors[int(rng.integers(len(colors)))])


def _paint_room(draw, rng, w, h, horizon, look) -> None:
    draw.rectangle((0, horizon - h * 0.015, w, horizon + h * 0.005), fill=(250, 245, 235))  # skirting board
    wx = rng.uniform(0.1, 0.45) * w
    glass = (30, 40, 80) if look.time == "night" else (170, 210, 240)
    draw.rectangle((wx, h * 0.14, wx + w * 0.26, h * 0.44), fill=(250, 245, 235))
    draw.rectangle((wx + w * 0.015, h * 0.155, wx + w * 0.245, h * 0.425), fill=glass)
    draw.line((wx + w * 0.13, h * 0.155, wx + w * 0.13, h * 0.425), fill=(250, 245, 235), width=int(w * 0.01))
    fx = wx + w * 0.36 if wx < w * 0.35 else w * 0.08
    draw.rectangle((fx, h * 0.2, fx + w * 0.14, h * 0.32), fill=(110, 80, 50))
    draw.rectangle((fx + w * 0.01, h * 0.21, fx + w * 0.13, h * 0.31), fill=_hsv(float(rng.uniform()), 0.4, 0.8))
    lamp = rng.uniform(0.7, 0.9) * w
    draw.line((lamp, horizon, lamp, horizon - h * 0.3), fill=(60, 50, 40), width=int(w * 0.008))
    draw.polygon([(lamp - w * 0.05, horizon - h * 0.28), (lamp + w * 0.05, horizon - h * 0.28), (lamp + w * 0.03, horizon - h * 0.36),
                  (lamp - w * 0.03, horizon - h * 0.36)], fill=(250, 230, 170))


def _paint_space(draw, rng, w, h, horizon, look) -> None:
    _stars(draw, rng, w, horizon, 120)
    x, y, r = rng.uniform(0.55, 0.85) * w, rng.uniform(0.2, 0.4) * h, h * 0.12
    color = _hsv(float(rng.uniform()), 0.5, 0.8)
    _disc(draw, (int(x), int(y)), int(r), color)
    draw.ellipse((x - r * 1.8, y - r * 0.3, x + r * 1.8, y + r * 0.3), outline=_shade(color, 1.25), width=max(2, w // 150))
    for _ in range(6):
        cx, cy = rng.uniform(0, w), rng.uniform(horizon + h * 0.03, h)
        draw.ellipse((cx - w * 0.05, cy - h * 0.015, cx + w * 0.05, cy + h * 0.015), fill=(55, 52, 62))


def _paint_underwater(draw, rng, w, h, horizon, look) -> None:
    for x in rng.uniform(0, 1, 9) * w:
        tall = rng.uniform(0.15, 0.35) * h
        draw.line([(x + np.sin(k) * w * 0.01, horizon + h * 0.05 - tall * k / 6) for k in range(7)],
                  fill=(40, 140, 80), width=int(w * 0.012))
    for _ in range(25):
        x, y = rng.uniform(0, w), rng.uniform(0, horizon)
        r = int(rng.uniform(2, 7) * SUPERSAMPLE)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(200, 235, 250), width=2)


def _paint_cave(draw, rng, w, h, horizon, look) -> None:
    for x in rng.uniform(0, 1, 10) * w:
        length = rng.uniform(0.08, 0.25) * h
        draw.polygon([(x - w * 0.03, 0), (x + w * 0.03, 0), (x, length)], fill=(46, 40, 44))
    glow = rng.uniform(0.3, 0.7) * w
    draw.ellipse((glow - w * 0.12, horizon - h * 0.3, glow + w * 0.12, horizon), fill=(90, 80, 70))


def _paint_abstract(draw, rng, w, h, horizon, look) -> None:
    _hills(draw, rng, w, horizon + h * 0.02, h * 0.08, _shade(look.theme.ground[0], 1.1))
    for _ in range(5):
        x, y, r = rng.uniform(0, w), rng.uniform(0, horizon * 0.8), rng.uniform(0.03, 0.08) * h
        _disc(draw, (int(x), int(y)), int(r), _mix(look.theme.sky[1], (255, 255, 255), 0.4))


PAINTERS: dict[str, Callable] = {
    "forest": _paint_forest, "snow": _paint_snow, "mountain": _paint_mountain, "city": _paint_city,
    "beach": _paint_beach, "ocean": _paint_ocean, "desert": _paint_desert, "field": _paint_field,
    "room": _paint_room, "space": _paint_space, "underwater": _paint_underwater, "cave": _paint_cave,
}


def draw_weather(frame: np.ndarray, weather: str, frame_number: int, seed: int) -> np.ndarray:
    """Falling rain or snow over a frame (H, W, 3), a pure function of the frame number: each particle
    falls at its own speed and wraps around, so the weather is seamless across chunks."""
    if weather not in ("rain", "snow"):
        return frame
    height, width = frame.shape[:2]
    rng = np.random.default_rng([stable_hash(weather), seed % (2**32)])
    count = max(8, width * height // (900 if weather == "rain" else 1200))
    x0, y0 = rng.uniform(0, width, count), rng.uniform(0, height, count)
    speed = rng.uniform(0.04, 0.07, count) * height if weather == "rain" else rng.uniform(0.006, 0.016, count) * height
    phase = rng.uniform(0, 2 * np.pi, count)
    out = frame.copy()
    y = (y0 + speed * frame_number) % (height + 10) - 5
    if weather == "rain":
        x = (x0 - 0.3 * speed * frame_number) % width
        for px, py, v in zip(x, y, speed):
            tail = v * 0.35
            cv2.line(out, (int(px), int(py)), (int(px + tail * 0.3), int(py - tail)), (200, 210, 225), 1, cv2.LINE_AA)
    else:
        x = (x0 + 0.01 * width * np.sin(phase + frame_number * 0.3)) % width
        radius = max(1, round(width / 160))
        for px, py, p in zip(x, y, phase):
            cv2.circle(out, (int(px), int(py)), radius + int(p > 4.0), (250, 250, 255), -1, cv2.LINE_AA)
    return out
