"""Image checks and loading: what an uploaded reference must pass before it is stored.

`load_rgb` is the one door for images that come from outside (the References tab's upload, the CLI):
it checks the bytes are an image PIL can decode (not just the file name), refuses sizes above the
preset's limit before decoding the pixels (a 50-megapixel PNG is a few hundred KB on disk and 150 MB
in memory), applies the EXIF orientation, and converts every mode to plain 8-bit RGB: transparency
composited on white, 16-bit and float greys scaled to 0-255, CMYK / palette / YCbCr / LAB converted by PIL.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from studio.errors import StudioError, first_line

if TYPE_CHECKING:  # PIL is imported where images are handled, not at import time
    from PIL import Image

logger = logging.getLogger(__name__)

ImageSource = Union[str, os.PathLike, bytes, bytearray, "Image.Image"]  # noqa: F821

MIN_SIDE = 8  # smaller than this is no picture worth conditioning on
# The one upload limit (browser, API, archives): the largest project archive export writes must come back
# in. Images stay bounded by their pixel count (max_upload_pixels), which is read before any decoding.
MAX_UPLOAD_BYTES = 4 * 1024**3
MAX_IMAGE_BYTES = 64 * 1024**2  # within that, a compressed image this large is never a sensible reference
WHITE = (255, 255, 255)


def load_rgb(source: Any, max_pixels: int, *, name: str = "image") -> "Image.Image":
    """Open `source` (a path, bytes or a PIL image) and return a loaded 8-bit RGB copy.

    Raises StudioError naming the problem: not an image, truncated, too many pixels, too small, or
    a mode with no sensible RGB form.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        _check_size(source.size, max_pixels, name)
        return to_rgb(source, name)
    from PIL import ImageOps

    data, label = _read_bytes(source, name)
    image = _open_checked(data, label, max_pixels)
    # Phone photos store "rotate me" in EXIF instead of rotating the pixels.
    image = ImageOps.exif_transpose(image) or image
    return to_rgb(image, label)


def _read_bytes(source: Any, name: str) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise StudioError(f"{name} {str(path)!r} does not exist or is not a file")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise StudioError(f"{name} {path.name!r} is {path.stat().st_size // 2**20} MB; the limit is {MAX_IMAGE_BYTES // 2**20} MB")
        data = path.read_bytes()
        label = f"{name} {path.name!r}"
    else:
        raise StudioError(f"{name} must be a file path, bytes or a PIL image, got {type(source).__name__}")
    if not data:
        raise StudioError(f"{label} is empty (0 bytes); choose a PNG, JPEG or WebP file")
    if len(data) > MAX_IMAGE_BYTES:
        raise StudioError(f"{label} is {len(data) // 2**20} MB; the limit is {MAX_IMAGE_BYTES // 2**20} MB")
    return data, label


def _check_size(size: tuple[int, int], max_pixels: int, label: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise StudioError(
            f"{label} is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is "
            f"{max_pixels / 1e6:.1f} megapixels: resize it and upload again"
        )
    if min(width, height) < MIN_SIDE:
        raise StudioError(f"{label} is {width}x{height}; each side must be at least {MIN_SIDE} pixels")


def _open_checked(data: bytes, label: str, max_pixels: int) -> "Image.Image":
    """Identify, size-check, verify and decode `data`; every failure becomes one StudioError."""
    from PIL import Image, UnidentifiedImageError

    not_image = f"{label} is not an image that can be read; upload a PNG, JPEG or WebP file"
    with warnings.catch_warnings():
        # PIL warns above ~89 megapixels and raises above ~179; our own limit is checked first and
        # the global Image.MAX_IMAGE_PIXELS (shared by every session) is left alone.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise StudioError(f"{label} has far too many pixels; the limit is {max_pixels / 1e6:.1f} megapixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise StudioError(not_image) from None
        # The header alone gives the size: refuse before the pixels are decoded.
        _check_size(probe.size, max_pixels, label)
        try:
            probe.verify()  # checksums and structure; the object is unusable afterwards
            image = Image.open(io.BytesIO(data))
            image.seek(0)  # animated GIF / APNG / multi-page TIFF: the first frame
            image.load()
        except Image.DecompressionBombError:
            raise StudioError(f"{label} has far too many pixels; the limit is {max_pixels / 1e6:.1f} megapixels") from None
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as error:
            raise StudioError(f"{label} is damaged or truncated ({first_line(error)}); export it again and re-upload") from None
    _check_size(image.size, max_pixels, label)
    return image


def to_rgb(image: "Image.Image", label: str = "image") -> "Image.Image":
    """An 8-bit RGB copy of `image`, whatever its mode."""
    import numpy as np
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels become white (the neutral background a reference is generated on).
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greys: 0..65535 -> 0..255 (÷257 maps 65535 to exactly 255). PIL opens 16-bit PNGs as
        # I;16; 32-bit "I" images are 16-bit samples when they exceed 255, else already 8-bit values.
        values = np.asarray(image, dtype=np.float64)  # (H, W)
        if mode != "I" or (values.size and values.max() > 255):
            values = values / 257.0
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if mode == "F":
        # Float greys have no fixed range: [0, 1] is taken as normalised, anything else as 0..255.
        values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)  # (H, W)
        if values.size and values.min() >= 0.0 and values.max() <= 1.0:
            values = values * 255.0
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    try:
        # 1, L, P, CMYK, YCbCr, LAB, HSV: PIL's own conversions.
        return image.convert("RGB")
    except (ValueError, OSError) as error:
        raise StudioError(f"{label} has colour mode {mode!r}, which cannot be converted to RGB ({first_line(error)}); "
                          "save it as an 8-bit RGB PNG or JPEG") from None


def png_bytes(image: "Image.Image") -> bytes:
    """Encode `image` as PNG; the same pixels always give the same bytes (no timestamps, no metadata)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


