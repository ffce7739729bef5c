"""Entity cards and scene composition: a drawn card per entity (a silhouette of its kind in a colour read
from its description, its name written on it) or its reference image, placed on the scene's background."""

from __future__ import annotations

import colorsys
import logging
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from studio.animatic.scenery import SUPERSAMPLE, choose_look, paint_background, stable_hash, words_of
from studio.animatic.text import fit_text, line_height, text_width
from studio.project.model import Entity, Scene, Script

logger = logging.getLogger(__name__)

COLOR_WORDS: dict[str, tuple[int, int, int]] = {
    "red": (200, 50, 50), "crimson": (170, 30, 50), "orange": (235, 130, 40), "ginger": (215, 110, 40),
    "yellow": (235, 200, 50), "golden": (220, 170, 50), "gold": (220, 170, 50), "green": (60, 150, 70),
    "teal": (30, 140, 140), "blue": (50, 100, 200), "navy": (30, 50, 110), "purple": (130, 70, 180),
    "violet": (140, 90, 200), "pink": (235, 120, 170), "brown": (130, 85, 50), "black": (45, 45, 50),
    "white": (235, 235, 235), "grey": (130, 130, 135), "gray": (130, 130, 135), "silver": (180, 185, 195),
}

# Silhouettes the planner's kind lexicon does not name (studio.plan.kinds names people, animals, vehicles
# and celestial bodies), checked in this order.
SHAPE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("robot", ("robot", "android", "droid", "mech", "cyborg")),
    ("tree", ("tree", "plant", "flower", "bush", "oak", "pine")),
    ("house", ("house", "castle", "tower", "cabin", "building", "temple", "hut", "lighthouse")),
)
PATTERNS = ("plain", "stripes", "dots", "grid")
PAPER = (248, 244, 232)
INK = (32, 30, 36)


def entity_color(entity: Entity, seed: int = 0) -> tuple[int, int, int]:
    """The entity's colour: the first colour word of its description (or name), else one hashed from it."""
    text = f"{entity.description} {entity.name}".lower()
    for word in text.replace(",", " ").split():
        if word in COLOR_WORDS:
            return COLOR_WORDS[word]
    hue = ((stable_hash(entity.name + entity.description) % 360) / 360.0 + (seed % 7) * 0.01) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55, 0.72)
    return int(r * 255), int(g * 255), int(b * 255)


def _noun_shape(words: list[str]) -> str:
    """The silhouette of the noun phrase `words` by its head ('golden retriever' -> animal, 'hot air balloon'
    -> plane, 'the moon' -> moon), or ''."""
    from studio.plan import kinds

    if not words:
        return ""
    head = kinds.noun_kind(words)
    lemma = kinds.head_lemma(words)
    for shape, keywords in SHAPE_WORDS[:1]:
        if lemma in keywords:
            return shape
    if head == "animal":
        return "bird" if lemma in kinds.BIRDS else "fish" if lemma in kinds.WATER_ANIMALS else "animal"
    if head == "vehicle":
        return kinds.VEHICLES[lemma]
    if head == "celestial":
        return lemma if lemma in ("sun", "moon", "star", "comet") else "planet"
    if head == "person":
        return "person"
    return next((shape for shape, keywords in SHAPE_WORDS if lemma in keywords), "")


def shape_kind(entity: Entity) -> str:
    """The silhouette: the head of the name decides ('grey dog' is an animal, 'a boy with a dog' a person), then
    the description's words, then the entity's kind (a character with no known noun is a person)."""
    name = re.findall(r"[A-Za-z][A-Za-z'-]*", entity.name)
    found = _noun_shape(name)
    if found:
        return found
    for word in re.findall(r"[A-Za-z][A-Za-z'-]*", f"{entity.name} {entity.description}"):
        found = _noun_shape([word])
        if found:
            return found
    return {"object": "object", "background": "house"}.get(entity.kind, "person")


def card_variant(seed: int) -> dict:
    """What a seed changes on a drawn card, so a regenerated card is visibly another take: the pose (facing,
    tilt, size, offset), the palette (shade, border accent) and the layout (the paper's pattern)."""
    rng = np.random.default_rng([seed % (2**32), 17])
    # Facing and paper cycle with the seed, so the next seed (the CLI's default re-roll) always turns or re-papers it.
    return {"mirror": bool(seed % 2), "tilt": float(rng.uniform(-12, 12)), "scale": float(rng.uniform(0.78, 1.0)),
            "offset": float(rng.uniform(-0.1, 0.1)), "shade": float(rng.uniform(0.85, 1.15)),
            "accent_hue": float(rng.uniform(0, 1)), "pattern": PATTERNS[(seed // 2) % len(PATTERNS)]}


def _draw_shape(draw: ImageDraw.ImageDraw, kind: str, box: tuple[float, float, float, float], fill) -> None:
    """A flat silhouette of `kind` inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    dark = tuple(int(c * 0.7) for c in fill)

    def rect(a, b, c, d, color=fill, r=0.0):
        draw.rounded_rectangle((x0 + a * w, y0 + b * h, x0 + c * w, y0 + d * h), radius=int(r * min(w, h)), fill=color)

    def ellipse(a, b, c, d, color=fill):
        draw.ellipse((x0 + a * w, y0 + b * h, x0 + c * w, y0 + d * h), fill=color)

    def poly(points, color=fill):
        draw.polygon([(x0 + px * w, y0 + py * h) for px, py in points], fill=color)

    if kind == "person":
        ellipse(0.38, 0.02, 0.62, 0.26)
        rect(0.28, 0.28, 0.72, 0.68, r=0.12)
        rect(0.16, 0.3, 0.27, 0.62, color=dark, r=0.05)
        rect(0.73, 0.3, 0.84, 0.62, color=dark, r=0.05)
        rect(0.32, 0.66, 0.48, 0.98, color=dark, r=0.04)
        rect(0.52, 0.66, 0.68, 0.98, color=dark, r=0.04)
    elif kind == "robot":
        draw.line((cx, y0, cx, y0 + 0.1 * h), fill=dark, width=max(2, int(w * 0.03)))
        rect(0.3, 0.08, 0.7, 0.32, r=0.06)
        ellipse(0.38, 0.15, 0.46, 0.23, color=(250, 250, 210))
        ellipse(0.54, 0.15, 0.62, 0.23, color=(250, 250, 210))
        rect(0.22, 0.35, 0.78, 0.72, r=0.04)
        rect(0.1, 0.38, 0.2, 0.66, color=dark)
        rect(0.8, 0.38, 0.9, 0.66, color=dark)
        rect(0.3, 0.74, 0.45, 0.98, color=dark)
        rect(0.55, 0.74, 0.7, 0.98, color=dark)
    elif kind == "animal":
        ellipse(0.12, 0.4, 0.72, 0.75)
        ellipse(0.6, 0.22, 0.9, 0.5)
        poly([(0.64, 0.3), (0.68, 0.1), (0.74, 0.26)])
        poly([(0.76, 0.26), (0.84, 0.1), (0.86, 0.3)])
        for left in (0.18, 0.3, 0.5, 0.6):
            rect(left, 0.66, left + 0.08, 0.95, color=dark, r=0.03)
        poly([(0.14, 0.5), (0.02, 0.3), (0.06, 0.26), (0.2, 0.45)], color=dark)
    elif kind == "bird":
        ellipse(0.2, 0.3, 0.75, 0.8)
        ellipse(0.55, 0.15, 0.85, 0.45)
        poly([(0.84, 0.26), (0.98, 0.32), (0.84, 0.36)], color=(240, 170, 40))
        poly([(0.25, 0.45), (0.55, 0.5), (0.3, 0.72)], color=dark)
        rect(0.4, 0.78, 0.44, 0.95, color=dark)
        rect(0.52, 0.78, 0.56, 0.95, color=dark)
    elif kind == "fish":
        ellipse(0.15, 0.3, 0.78, 0.7)
        poly([(0.72, 0.5), (0.98, 0.28), (0.98, 0.72)], color=dark)
        ellipse(0.24, 0.42, 0.32, 0.5, color=(250, 250, 250))
    elif kind == "car":
        rect(0.05, 0.45, 0.95, 0.75, r=0.08)
        rect(0.22, 0.25, 0.72, 0.5, r=0.1)
        rect(0.28, 0.3, 0.46, 0.46, color=(200, 225, 240))
        rect(0.5, 0.3, 0.66, 0.46, color=(200, 225, 240))
        ellipse(0.14, 0.65, 0.34, 0.9, color=INK)
        ellipse(0.66, 0.65, 0.86, 0.9, color=INK)
    elif kind == "boat":
        poly([(0.05, 0.6), (0.95, 0.6), (0.8, 0.85), (0.2, 0.85)])
        rect(0.48, 0.1, 0.52, 0.6, color=dark)
        poly([(0.53, 0.12), (0.53, 0.55), (0.85, 0.55)], color=(245, 245, 240))
        poly([(0.47, 0.2), (0.47, 0.55), (0.22, 0.55)], color=(235, 235, 228))
    elif kind == "rocket":
        ellipse(0.34, 0.05, 0.66, 0.5)
        rect(0.34, 0.28, 0.66, 0.8)
        poly([(0.34, 0.6), (0.18, 0.88), (0.34, 0.8)], color=dark)
        poly([(0.66, 0.6), (0.82, 0.88), (0.66, 0.8)], color=dark)
        ellipse(0.43, 0.3, 0.57, 0.44, color=(200, 225, 240))
        poly([(0.4, 0.8), (0.5, 0.98), (0.6, 0.8)], color=(250, 160, 40))
    elif kind == "tree":
        rect(0.44, 0.55, 0.56, 0.98, color=(110, 75, 45))
        ellipse(0.15, 0.05, 0.85, 0.65)
        ellipse(0.3, 0.15, 0.55, 0.38, color=tuple(min(255, int(c * 1.2)) for c in fill))
    elif kind == "house":
        poly([(0.1, 0.42), (0.5, 0.08), (0.9, 0.42)], color=dark)
        rect(0.18, 0.42, 0.82, 0.95)
        rect(0.43, 0.65, 0.57, 0.95, color=dark)
        rect(0.25, 0.52, 0.37, 0.64, color=(250, 235, 170))
        rect(0.63, 0.52, 0.75, 0.64, color=(250, 235, 170))
    elif kind == "plane":
        ellipse(0.08, 0.42, 0.92, 0.6)
        poly([(0.4, 0.5), (0.62, 0.5), (0.42, 0.86), (0.3, 0.86)], color=dark)
        poly([(0.42, 0.5), (0.6, 0.5), (0.44, 0.16), (0.34, 0.16)], color=dark)
        poly([(0.08, 0.5), (0.16, 0.5), (0.1, 0.3), (0.04, 0.3)], color=dark)
        for left in (0.62, 0.7, 0.78):
            ellipse(left, 0.46, left + 0.05, 0.52, color=(200, 225, 240))
    elif kind == "sun":
        for k in range(12):
            angle = k * np.pi / 6
            tip = (cx + 0.48 * w * np.cos(angle), y0 + 0.5 * h + 0.48 * h * np.sin(angle))
            left = (cx + 0.3 * w * np.cos(angle - 0.18), y0 + 0.5 * h + 0.3 * h * np.sin(angle - 0.18))
            right = (cx + 0.3 * w * np.cos(angle + 0.18), y0 + 0.5 * h + 0.3 * h * np.sin(angle + 0.18))
            draw.polygon([left, tip, right], fill=dark)
        ellipse(0.22, 0.22, 0.78, 0.78)
    elif kind == "moon":
        ellipse(0.15, 0.1, 0.85, 0.8)
        ellipse(0.35, 0.02, 1.0, 0.72, color=(0, 0, 0, 0))  # the layer is transparent: a crescent is left
    elif kind in ("star", "comet"):
        if kind == "comet":
            poly([(0.05, 0.95), (0.5, 0.42), (0.62, 0.56)], color=dark)
        points = [(0.5 + (0.45 if k % 2 == 0 else 0.18) * np.sin(k * np.pi / 5),
                   0.45 - (0.45 if k % 2 == 0 else 0.18) * np.cos(k * np.pi / 5)) for k in range(10)]
        poly(points)
    elif kind == "planet":
        ellipse(0.22, 0.22, 0.78, 0.78)
        draw.ellipse((x0 + 0.02 * w, y0 + 0.42 * h, x0 + 0.98 * w, y0 + 0.6 * h), outline=dark, width=max(2, int(w * 0.04)))
        ellipse(0.32, 0.3, 0.5, 0.42, color=tuple(min(255, int(c * 1.25)) for c in fill))
    else:  # object: a faceted gem-box, deliberately generic
        rect(0.18, 0.3, 0.82, 0.9, r=0.1)
        poly([(0.18, 0.3), (0.35, 0.12), (0.65, 0.12), (0.82, 0.3)], color=dark)
        rect(0.3, 0.42, 0.45, 0.55, color=tuple(min(255, int(c * 1.4) + 30) for c in fill), r=0.05)


def _pattern(draw: ImageDraw.ImageDraw, pattern: str, size: tuple[int, int], color: tuple[int, int, int]) -> None:
    width, height = size
    step = max(6, width // 9)
    if pattern == "stripes":
        for x in range(-height, width, step):
            draw.line((x, height, x + height, 0), fill=color, width=max(1, step // 3))
    elif pattern == "dots":
        for y in range(step // 2, height, step):
            for x in range(step // 2 + (step // 2 if (y // step) % 2 else 0), width, step):
                draw.ellipse((x - step // 6, y - step // 6, x + step // 6, y + step // 6), fill=color)
    elif pattern == "grid":
        for x in range(0, width, step):
            draw.line((x, 0, x, height), fill=color, width=max(1, step // 8))
        for y in range(0, height, step):
            draw.line((0, y, width, y), fill=color, width=max(1, step // 8))


def render_entity_card(entity: Entity, width: int, height: int, seed: int) -> Image.Image:
    """An RGB card for `entity`: a silhouette in its colour and its name written underneath. The shape
    comes from the entity's noun (fox -> animal, ship -> boat, moon -> moon; studio.plan.kinds); `seed`
    picks the pose, the shade and accent of the palette and the paper's pattern (card_variant), so a
    regenerated card is visibly another take of the same entity."""
    big_w, big_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    variant = card_variant(seed)
    base = entity_color(entity, seed)
    color = tuple(max(0, min(255, int(c * variant["shade"]))) for c in base)
    r, g, b = colorsys.hsv_to_rgb(variant["accent_hue"], 0.5, 0.6)
    accent = (int(r * 255), int(g * 255), int(b * 255))
    paper = tuple(int(p * 0.9 + c * 0.1) for p, c in zip(PAPER, color))
    card = Image.new("RGB", (big_w, big_h), paper)
    draw = ImageDraw.Draw(card)
    _pattern(draw, variant["pattern"], (big_w, big_h), tuple(int(p * 0.9 + c * 0.1) for p, c in zip(paper, accent)))
    border = max(2, big_w // 40)
    draw.rounded_rectangle((border, border, big_w - border, big_h - border), radius=border * 3,
                           outline=tuple(int(c * 0.6 + a * 0.4) for c, a in zip(color, accent)), width=border)
    # The name gets the bottom quarter; the silhouette the square-ish space above it.
    lines, face = fit_text(entity.name or entity.id, big_w - 6 * border, 2, max(8, big_h // 9))
    text_block = line_height(face) * len(lines) + 3 * border
    if big_h - text_block < big_h // 2:  # a thumbnail too small to carry its name legibly: silhouette only
        lines, text_block = [], 0
    side = max(4, min(big_w - 8 * border, big_h - text_block - 6 * border))
    x0, y0 = (big_w - side) / 2, 3 * border + (big_h - text_block - 6 * border - side) / 2
    draw.ellipse((x0 + side * 0.1, y0 + side * 0.93, x0 + side * 0.9, y0 + side * 1.02), fill=tuple(int(c * 0.85) for c in paper))
    # The pose: the silhouette drawn on its own layer, then turned, tilted, sized and shifted by the seed.
    figure = Image.new("RGBA", (int(side), int(side)), (0, 0, 0, 0))
    _draw_shape(ImageDraw.Draw(figure), shape_kind(entity), (0, 0, int(side), int(side)), color)
    if variant["mirror"]:
        figure = figure.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    figure = figure.rotate(variant["tilt"], resample=Image.Resampling.BICUBIC)
    scaled = max(4, int(side * variant["scale"]))
    figure = figure.resize((scaled, scaled), Image.Resampling.LANCZOS)
    left = int(x0 + (side - scaled) / 2 + variant["offset"] * side)
    top = int(y0 + side - scaled)
    card.paste(figure, (left, top), figure)
    for row, line in enumerate(lines):
        y = big_h - text_block + border + row * line_height(face)
        draw.text(((big_w - text_width(line, face)) / 2, y), line, font=face, fill=INK)
    return card.resize((width, height), Image.Resampling.LANCZOS)


def scene_entities(script: Script, scene: Scene) -> list[Entity]:
    """The scene's entities in order; an id the script does not know still gets a card under its id."""
    known = {entity.id: entity for entity in script.entities}
    entities = []
    for entity_id in scene.entity_ids:
        if entity_id not in known:
            logger.warning("scene %s names unknown entity %r; drawing a card with its id", scene.id, entity_id)
        entities.append(known.get(entity_id) or Entity(id=entity_id, name=entity_id))
    return entities


def scene_text(script: Script, scene: Scene) -> tuple[str, str]:
    """(place text, action text): the background plus the descriptions of background-kind entities,
    then the event and title."""
    places = [e.description or e.name for e in scene_entities(script, scene) if e.kind == "background"]
    return " ".join([scene.background, *places]), f"{scene.event} {scene.title}"


def compose_layers(script: Script, scene: Scene, entity_images: dict[str, Image.Image], width: int, height: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The scene as two layers: background RGB (H, W, 3) and the entity cards RGBA (H, W, 4), so a
    camera move can give them different parallax."""
    look = choose_look(*scene_text(script, scene))
    background = np.asarray(paint_background(look, width, height, seed))
    foreground = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    # A rejected reference is not drawn: the scene is composed from the references the creator kept.
    cast = [e for e in scene_entities(script, scene) if e.kind != "background" and e.status != "rejected"]
    if cast:
        _place_cards(foreground, cast, entity_images, seed)
    return background, np.asarray(foreground)


def _place_cards(layer: Image.Image, cast: list[Entity], entity_images: dict[str, Image.Image], seed: int) -> None:
    width, height = layer.size
    rng = np.random.default_rng([seed % (2**32), len(cast)])
    count = len(cast)
    gap = width * 0.03
    card_h = height * 0.32
    card_w = min(card_h * 0.8, (width * 0.8 - gap * (count - 1)) / count)
    card_h = min(card_h, card_w / 0.8)
    ground = height * 0.64  # the cards stand here: above the caption band even in a frame panned at 1.4x
    total = count * card_w + (count - 1) * gap
    shadow = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    shadow_draw = ImageDraw.Draw(shadow)
    placed = []
    for index, entity in enumerate(cast):
        image = entity_images.get(entity.id)
        if image is None:
            image = render_entity_card(entity, max(8, int(card_w)), max(8, int(card_h)), entity.seed)
        else:
            image = _framed(image.convert("RGB"), int(card_w), int(card_h))
        card = image.convert("RGBA").rotate(float(rng.uniform(-3.0, 3.0)), resample=Image.Resampling.BICUBIC,
                                            expand=True)
        x = (width - total) / 2 + index * (card_w + gap) + (card_w - card.width) / 2
        y = ground - card.height + float(rng.uniform(-0.02, 0.02)) * height
        shadow_draw.ellipse((x + card.width * 0.05, ground - card_h * 0.04, x + card.width * 0.95, ground + card_h * 0.06),
                            fill=(0, 0, 0, 110))
        placed.append((card, int(round(x)), int(round(y))))
    layer.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(max(1, width // 120))))
    for card, x, y in placed:
        layer.alpha_composite(card, (max(0, x), max(0, y)), (max(0, -x), max(0, -y)))


def _framed(image: Image.Image, width: int, height: int) -> Image.Image:
    """A reference image fitted (cover) into a card with a white border."""
    border = max(2, width // 24)
    inner_w, inner_h = max(1, width - 2 * border), max(1, height - 2 * border)
    scale = max(inner_w / image.width, inner_h / image.height)
    resized = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                           Image.Resampling.LANCZOS)
    left, top = (resized.width - inner_w) // 2, (resized.height - inner_h) // 2
    card = Image.new("RGB", (width, height), PAPER)
    card.paste(resized.crop((left, top, left + inner_w, top + inner_h)), (border, border))
    return card


def render_scene_image(script: Script, scene: Scene, entity_images: dict[str, Image.Image], width: int, height: int,
                       seed: int) -> Image.Image:
    """The scene as one RGB picture: its background with the cast's cards (reference images when given)."""
    background, foreground = compose_layers(script, scene, entity_images, width, height, seed)
    picture = Image.fromarray(background).convert("RGBA")
    picture.alpha_composite(Image.fromarray(foreground))
    return picture.convert("RGB")
