"""studio.media.images: upload checks (real image type, pixel limit) and conversion of every mode to 8-bit RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from studio.errors import StudioError
from studio.media.images import load_rgb, png_bytes, to_rgb

LIMIT = 16_000_000


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (1-bit grey) with no pixel data: what a bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_rgb_png_round_trips_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    path = tmp_path / "ref.png"
    path.write_bytes(encode(Image.fromarray(pixels)))
    for source in (path, str(path), path.read_bytes(), Image.fromarray(pixels)):
        image = load_rgb(source, LIMIT)
        assert image.mode == "RGB" and image.size == (40, 24)
        assert np.array_equal(np.asarray(image), pixels)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:, :4] = (200, 10, 20, 255)  # opaque red half
    rgba[:, 4:6] = (0, 0, 0, 0)  # fully transparent
    rgba[:, 6:] = (0, 0, 0, 128)  # half-transparent black
    image = np.asarray(load_rgb(encode(Image.fromarray(rgba, "RGBA")), LIMIT))
    assert image.shape == (8, 8, 3)
    assert (image[:, :4] == (200, 10, 20)).all()
    assert (image[:, 4:6] == 255).all()
    assert np.abs(image[:, 6:].astype(int) - 127).max() <= 1  # black at alpha 128 over white


def test_la_and_transparent_palette_are_composited_on_white():
    la = Image.fromarray(np.stack([np.full((8, 8), 50, np.uint8), np.zeros((8, 8), np.uint8)], -1), "LA")
    assert (np.asarray(load_rgb(encode(la), LIMIT)) == 255).all()
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([10, 200, 30] + [0, 0, 0] * 255)
    palette.info["transparency"] = 0
    assert (np.asarray(load_rgb(encode(palette), LIMIT)) == 255).all()
    palette.info.pop("transparency")
    assert (np.asarray(load_rgb(encode(palette), LIMIT)) == (10, 200, 30)).all()


def test_cmyk_jpeg_is_converted():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    image = load_rgb(encode(cmyk, "JPEG"), LIMIT)
    red, green, blue = np.asarray(image).reshape(-1, 3).mean(0)
    assert image.mode == "RGB" and red > 240 and green < 15 and blue < 15


def test_16_bit_grey_is_scaled_not_clipped():
    values = np.array([[0, 257, 32896, 65535]] * 8, dtype=np.uint16).repeat(2, axis=1)  # (8, 8)
    data = encode(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    image = np.asarray(load_rgb(data, LIMIT))
    assert image.shape == (8, 8, 3)
    assert image[0, ::2, 0].tolist() == [0, 1, 128, 255]
    assert (image[..., 0] == image[..., 2]).all()


def test_float_image_in_unit_range_is_scaled():
    values = np.tile(np.array([0.0, 0.5, 1.0, np.nan], np.float32), (8, 2))  # (8, 8)
    data = encode(Image.fromarray(values, "F"), "TIFF")
    image = np.asarray(load_rgb(data, LIMIT))
    assert image[0, :4, 0].tolist() == [0, 128, 255, 0]


def test_mode_32_bit_int_with_8_bit_values_is_kept():
    image = to_rgb(Image.fromarray(np.full((8, 8), 200, np.int32), "I"))
    assert (np.asarray(image) == 200).all()


def test_text_is_not_an_image_even_named_png(tmp_path):
    path = tmp_path / "cat.png"
    path.write_text("definitely not a picture")
    with pytest.raises(StudioError, match="not an image"):
        load_rgb(path, LIMIT)
    with pytest.raises(StudioError, match="not an image"):
        load_rgb(np.random.default_rng(1).bytes(4096), LIMIT)


def test_truncated_png_is_refused():
    pixels = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(pixels))
    with pytest.raises(StudioError, match="damaged or truncated|not an image"):
        load_rgb(data[: len(data) // 2], LIMIT)


def test_fifty_megapixels_is_refused_before_decoding():
    data = encode(Image.new("1", (7100, 7100)))  # 50.4 megapixels, a few KB on disk
    with pytest.raises(StudioError, match=r"7100x7100 \(50\.4 megapixels\); the limit is 16\.0 megapixels"):
        load_rgb(data, LIMIT)


def test_decompression_bomb_gets_our_message():
    with pytest.raises(StudioError, match="megapixels"):
        load_rgb(png_header_only(40_000, 40_000), LIMIT)  # PIL itself raises above ~179 megapixels


def test_pil_image_over_the_limit_and_tiny_images_are_refused():
    with pytest.raises(StudioError, match="megapixels"):
        load_rgb(Image.new("RGB", (100, 100)), max_pixels=5_000)
    with pytest.raises(StudioError, match="at least 8 pixels"):
        load_rgb(encode(Image.new("RGB", (4, 64))), LIMIT)


def test_empty_and_wrong_sources_are_refused(tmp_path):
    with pytest.raises(StudioError, match="empty"):
        load_rgb(b"", LIMIT)
    with pytest.raises(StudioError, match="does not exist"):
        load_rgb(tmp_path / "missing.png", LIMIT)
    with pytest.raises(StudioError, match="file path, bytes or a PIL image"):
        load_rgb(12345, LIMIT)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    red, green, blue = np.asarray(load_rgb(buffer.getvalue(), LIMIT)).reshape(-1, 3).mean(0)
    assert red > 200 and blue < 50


def test_png_bytes_are_deterministic():
    image = Image.fromarray(np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert png_bytes(image) == png_bytes(image.copy())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(image)))), np.asarray(image))


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert load_rgb(buffer.getvalue(), LIMIT).size == (20, 40)
