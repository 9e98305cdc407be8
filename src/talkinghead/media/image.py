"""Load portraits as uint8 RGB arrays (and save frames as PNG), whatever the file's mode.

Pillow decodes; this module normalises: EXIF orientation applied, embedded ICC colour
profiles converted to sRGB, transparency composited over white, grayscale, palette and
16-bit images brought to 8-bit RGB.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.media.files import one_line, temp_sibling
from talkinghead.types import InputError

if TYPE_CHECKING:
    from PIL import Image

#: Smallest accepted image side in pixels.
MIN_IMAGE_SIDE = 32


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB pixels, upright and opaque.

    Handles jpg, png, webp, bmp (and whatever else Pillow reads: tiff, gif's first frame...).
    The EXIF orientation tag is applied (phone photos come out upright); an embedded ICC
    profile is converted to sRGB; images with transparency (RGBA, LA, P or L/RGB with a
    transparent colour) are composited over white; grayscale is replicated to three
    channels; 16-bit images are scaled to 8 bits (value / 257).

    Args:
        path: image file.

    Returns:
        uint8 ``[H, W, 3]`` RGB, C-contiguous, H and W >= :data:`MIN_IMAGE_SIDE` (32).

    Raises:
        InputError: (one line naming the file) the file is missing or a directory, is not an
            image or is truncated/corrupt, is too large for Pillow's decompression-bomb guard
            (over about 179 megapixels), or is smaller than 32 pixels on a side.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: image file not found")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb = _to_rgb(img)
    except Image.DecompressionBombError as e:
        raise InputError(f"{p}: image is too large to decode safely ({one_line(e)})") from e
    except UnidentifiedImageError as e:
        raise InputError(f"{p}: not an image file (or an unsupported format)") from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise InputError(f"{p}: cannot decode image (corrupt or truncated file: {one_line(e)})") from e
    h, w = rgb.shape[:2]
    if h < MIN_IMAGE_SIDE or w < MIN_IMAGE_SIDE:
        raise InputError(f"{p}: image is too small ({w}x{h} pixels; need at least {MIN_IMAGE_SIDE} on each side)")
    return rgb


def save_png(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    """Write an RGB (or grayscale) image as PNG, atomically (temporary file, then rename).

    Args:
        path: output file; its directory must exist.
        rgb: uint8 ``[H, W, 3]`` RGB or ``[H, W]`` grayscale.

    Raises:
        ValueError: ``rgb`` has the wrong dtype or shape.
        InputError: the output directory does not exist or is not writable.
    """
    from PIL import Image

    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise ValueError(f"save_png expects uint8 [H, W, 3] or [H, W], got {arr.dtype} {arr.shape}")
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{p}: output directory {parent} does not exist")
    tmp = temp_sibling(p)
    try:
        Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format="PNG")
        os.replace(tmp, p)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{p}: cannot write image ({one_line(e)})") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to uint8 ``[H, W, 3]`` RGB, transparency composited over white."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grayscale (PNG 16-bit gray opens as I;16 or I): scale 0..65535 to 0..255.
        a = np.asarray(img).astype(np.float32)
        gray = np.clip(np.rint(a / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        a = np.asarray(img, dtype=np.float32)
        gray = np.clip(np.rint(np.nan_to_num(a)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))

    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if mode in ("RGB", "RGBA"):
        img = _icc_to_srgb(img)
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"))
        return _over_white(rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 4]`` straight-alpha RGBA over a white background -> uint8 ``[H, W, 3]``."""
    rgb = rgba[:, :, :3].astype(np.uint16)
    a = rgba[:, :, 3:4].astype(np.uint16)
    out = (rgb * a + 255 * (255 - a) + 127) // 255
    return np.ascontiguousarray(out.astype(np.uint8))


def _icc_to_srgb(img: Image.Image) -> Image.Image:
    """Convert pixels tagged with an ICC profile (e.g. Display P3 phone photos) to sRGB.

    Best effort: an unreadable or non-RGB profile leaves the pixels as they are.
    """
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if src.profile.xcolor_space.strip() != "RGB":
            return img
        out = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    return out if out is not None else img
