"""Hostile uploads: random bytes, damaged real files, odd modes and sizes.

Whatever arrives, `load_rgb` returns an 8-bit RGB image of the same size or raises one StudioError line,
and `upload_entity_image` either stores an RGB PNG and approves the entity or leaves the project as it was.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.errors import StudioError
from studio.media.images import MIN_SIDE, load_rgb
from studio.project.lock import LOCK_FILE
from studio.project.model import Entity, Scene, Script, load_project, new_project, save_project
from studio.references.stage import upload_entity_image

MODES = ("L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1", "RGB")
# Formats that can hold each mode (PIL converts nothing on save; a mismatch raises).
FORMATS = {
    "1": ("PNG", "TIFF", "BMP", "GIF"), "L": ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP"), "LA": ("PNG", "TIFF"),
    "P": ("PNG", "TIFF", "BMP", "GIF"), "RGB": ("PNG", "JPEG", "TIFF", "BMP", "WEBP"), "RGBA": ("PNG", "TIFF", "WEBP"),
    "CMYK": ("JPEG", "TIFF"), "I;16": ("PNG", "TIFF"), "I": ("PNG", "TIFF"), "F": ("TIFF",),
}
MAX_PIXELS = 48 * 48  # small, so random sizes land on both sides of the limit
# PIL warns about the damaged files it still reads; the test is about what reaches the user.
pytestmark = pytest.mark.filterwarnings("ignore:(Corrupt EXIF|Truncated File Read|Metadata):UserWarning")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def images(draw) -> Image.Image:
    """A PIL image of a random mode and size (1 to 64 pixels a side) with random pixels."""
    mode = draw(st.sampled_from(MODES))
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if mode == "F":
        values = rng.normal(0, draw(st.sampled_from([0.3, 100.0, 1e30])), (height, width)).astype(np.float32)
        if draw(st.booleans()):
            values.flat[rng.integers(0, values.size, 3)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return Image.fromarray(values, mode="F")
    if mode == "I":
        high = draw(st.sampled_from([255, 65535, 2**31 - 1]))
        return Image.fromarray(rng.integers(-high // 4, high, (height, width), dtype=np.int32), mode="I")
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16), mode="I;16")
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), mode="RGB")
    if mode in ("RGBA", "LA"):
        image = rgb.convert(mode)
        image.putalpha(Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), mode="L"))
        return image
    if mode == "P":
        image = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=draw(st.integers(2, 256)))
        if draw(st.booleans()):
            image.info["transparency"] = draw(st.integers(0, 1))
        return image
    return rgb.convert(mode)


def encode(image: Image.Image, format_: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_)
    return buffer.getvalue()


@st.composite
def encoded(draw) -> tuple[bytes, Image.Image, str]:
    image = draw(images())
    format_ = draw(st.sampled_from(FORMATS[image.mode]))
    return encode(image, format_), image, format_


@st.composite
def damaged(draw) -> bytes:
    """Real image bytes, cut short, with bytes flipped, or with garbage appended."""
    data, _, format_ = draw(encoded())
    how = draw(st.sampled_from(["truncate", "flip", "append"]))
    event(f"{format_} {how}")
    if how == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if how == "append":
        return data + draw(st.binary(min_size=1, max_size=64))
    raw = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


hostile_bytes = st.binary(max_size=512) | damaged() | encoded().map(lambda e: e[0])


def check_rgb_or_one_line(source, size: tuple[int, int] | None = None) -> Image.Image | None:
    try:
        image = load_rgb(source, MAX_PIXELS, name="the upload")
    except StudioError as error:
        assert "\n" not in str(error) and str(error).startswith("the upload"), str(error)
        event("refused")
        return None
    assert image.mode == "RGB" and min(image.size) >= MIN_SIDE and image.size[0] * image.size[1] <= MAX_PIXELS
    assert np.asarray(image).dtype == np.uint8
    if size is not None:
        assert image.size == size
    event("accepted")
    return image


@FUZZ
@given(hostile_bytes)
def test_any_bytes_give_rgb_or_one_line_error(data):
    check_rgb_or_one_line(data)


@FUZZ
@given(images())
def test_every_mode_and_size_as_a_pil_image(image):
    result = check_rgb_or_one_line(image, image.size)
    width, height = image.size
    fits = min(width, height) >= MIN_SIDE and width * height <= MAX_PIXELS
    assert (result is not None) == fits, (image.mode, image.size)
    if result is not None and image.mode in ("L", "1", "RGB", "CMYK", "P") and "transparency" not in image.info:
        assert np.array_equal(np.asarray(result), np.asarray(image.convert("RGB")))  # opaque modes: PIL's own colours


@FUZZ
@given(encoded())
def test_every_mode_and_size_as_a_file(sample):
    data, image, format_ = sample
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload.{format_.lower()}"
        path.write_bytes(data)
        result = check_rgb_or_one_line(path, image.size)
    fits = min(image.size) >= MIN_SIDE and image.size[0] * image.size[1] <= MAX_PIXELS
    assert (result is not None) == fits, (image.mode, image.size, format_)
    if result is not None and format_ in ("PNG", "TIFF", "BMP") and image.mode in ("L", "RGB"):
        assert np.array_equal(np.asarray(result), np.asarray(image.convert("RGB")))  # lossless: same pixels


# ----------------------------------------------------------------------------- the project's upload path


def make_project(project_dir: Path) -> Path:
    script = Script(
        prompt="a fox in a forest",
        entities=[Entity(id="fox", name="fox", description="a small red fox", seed=1)],
        scenes=[Scene(id="s1", title="run", event="the fox runs", entity_ids=["fox"], seed=2)],
    )
    save_project(new_project("demo", "tiny", script), project_dir)
    scene_image = project_dir / "scenes" / "s1" / "image.png"
    scene_image.parent.mkdir(parents=True)
    scene_image.write_bytes(encode(Image.new("RGB", (32, 32), (9, 9, 9)), "PNG"))  # where paths.py puts it
    return project_dir


def snapshot(project_dir: Path) -> dict[str, bytes]:
    """Every file of the project (not the empty lock file that serialises its changes)."""
    return {p.relative_to(project_dir).as_posix(): p.read_bytes() for p in sorted(project_dir.rglob("*"))
            if p.is_file() and p.name != LOCK_FILE}


@pytest.fixture(scope="module")
def small_preset():
    from studio.config import load_preset

    preset = load_preset("tiny")
    return dataclasses.replace(preset, references=dataclasses.replace(preset.references, max_upload_pixels=MAX_PIXELS))


@FUZZ
@given(source=hostile_bytes | images(), as_path=st.booleans())
def test_upload_stores_rgb_png_or_leaves_the_project_as_it_was(small_preset, source, as_path):
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = make_project(Path(tmp) / "demo")
        if as_path and not isinstance(source, Image.Image):
            upload = Path(tmp) / "upload.png"
            upload.write_bytes(source)
            source = upload
        before = snapshot(project_dir)
        try:
            project = upload_entity_image(project_dir, "fox", source, preset=small_preset)
        except StudioError as error:
            assert "\n" not in str(error) and "fox" in str(error), str(error)
            assert snapshot(project_dir) == before
            event("refused")
            return
        event("stored")
        entity = project.script.entity("fox")
        stored = Image.open(project_dir / "entities" / f"{entity.id}.png")
        assert stored.format == "PNG" and stored.mode == "RGB"
        assert entity.status == "approved" and load_project(project_dir).script.entity("fox").status == "approved"
        assert not (project_dir / "scenes" / "s1" / "image.png").exists()  # remade from the new reference


def test_upload_to_an_unknown_entity_changes_nothing(tmp_path, small_preset):
    project_dir = make_project(tmp_path / "demo")
    before = snapshot(project_dir)
    with pytest.raises(StudioError, match="dragon") as info:
        upload_entity_image(project_dir, "dragon", encode(Image.new("RGB", (16, 16)), "PNG"), preset=small_preset)
    assert "\n" not in str(info.value) and snapshot(project_dir) == before
