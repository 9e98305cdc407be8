"""load_image: any mode and orientation to upright, opaque uint8 RGB; save_png round trip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from talkinghead.media import load_image
from talkinghead.media.image import save_png
from talkinghead.types import InputError


def _check_rgb(rgb: np.ndarray, h: int, w: int) -> None:
    assert rgb.dtype == np.uint8
    assert rgb.shape == (h, w, 3)
    assert rgb.flags.c_contiguous


def test_rgba_composited_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere
    rgba[:, :20, 3] = 0  # transparent -> white
    rgba[:, 20:40, 3] = 128  # half -> pink
    rgba[:, 40:, 3] = 255  # opaque -> red
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = load_image(path)
    _check_rgb(rgb, 40, 60)
    assert (rgb[:, :20] == 255).all()
    assert np.array_equal(rgb[0, 30], [255, 127, 127])
    assert np.array_equal(rgb[0, 50], [255, 0, 0])


def test_la_and_palette_transparency(tmp_path: Path) -> None:
    la = np.zeros((40, 40, 2), np.uint8)
    la[..., 1] = 0  # fully transparent black
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert (load_image(tmp_path / "la.png") == 255).all()

    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.paste(1, (20, 0, 40, 40))
    pal.save(tmp_path / "pal.png", transparency=0)
    rgb = load_image(tmp_path / "pal.png")
    _check_rgb(rgb, 40, 40)
    assert (rgb[:, :20] == 255).all()  # transparent index -> white
    assert np.array_equal(rgb[0, 30], [0, 255, 0])


def test_grayscale(tmp_path: Path) -> None:
    gray = np.tile(np.arange(64, dtype=np.uint8)[None, :] * 4, (48, 1))
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    rgb = load_image(tmp_path / "gray.png")
    _check_rgb(rgb, 48, 64)
    for c in range(3):
        assert np.array_equal(rgb[..., c], gray)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    # Stored 64 wide x 40 high: left half red, right half blue. Orientation 6 means "rotate
    # 90 degrees clockwise to display": shown 40 wide x 64 high, red on top.
    stored = np.zeros((40, 64, 3), np.uint8)
    stored[:, :32] = (255, 0, 0)
    stored[:, 32:] = (0, 0, 255)
    img = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, quality=95, exif=exif.tobytes())
    rgb = load_image(path)
    _check_rgb(rgb, 64, 40)
    top, bottom = rgb[8, 20].astype(int), rgb[56, 20].astype(int)
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_16bit_gray_png(tmp_path: Path) -> None:
    gray16 = np.tile(np.linspace(0, 65535, 64).astype(np.uint16)[None, :], (40, 1))
    path = tmp_path / "gray16.png"
    Image.fromarray(gray16).save(path)
    rgb = load_image(path)
    _check_rgb(rgb, 40, 64)
    assert rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255
    assert np.abs(rgb[..., 1].astype(int) - np.rint(gray16 / 257.0)).max() <= 1


def test_16bit_rgb_png(tmp_path: Path) -> None:
    bgr16 = np.zeros((40, 50, 3), np.uint16)
    bgr16[..., 2] = 65535  # red (OpenCV writes BGR)
    bgr16[..., 1] = 32896  # half green
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), bgr16)
    rgb = load_image(path)
    _check_rgb(rgb, 40, 50)
    assert np.abs(rgb[0, 0].astype(int) - [255, 128, 0]).max() <= 1


@pytest.mark.parametrize("ext", ["webp", "bmp", "jpg"])
def test_other_formats(tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(0)
    rgb_in = np.repeat(np.repeat(rng.integers(0, 256, (8, 10, 3), dtype=np.uint8), 8, 0), 8, 1)
    path = tmp_path / f"img.{ext}"
    Image.fromarray(rgb_in).save(path, **({"quality": 95} if ext != "bmp" else {}))
    rgb = load_image(path)
    _check_rgb(rgb, 64, 80)
    centres = (slice(4, None, 8), slice(4, None, 8))  # block centres: away from chroma-subsampling edges
    assert np.abs(rgb[centres].astype(int) - rgb_in[centres]).max() <= (0 if ext == "bmp" else 12)


def test_too_small(tmp_path: Path) -> None:
    Image.new("RGB", (100, 20), "red").save(tmp_path / "thin.png")
    with pytest.raises(InputError, match="too small") as info:
        load_image(tmp_path / "thin.png")
    assert str(tmp_path / "thin.png") in str(info.value)


def test_not_an_image(tmp_path: Path, random_bytes_file) -> None:
    path = random_bytes_file("photo.jpg")
    with pytest.raises(InputError) as info:
        load_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "full.jpg"
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(InputError, match="corrupt or truncated") as info:
        load_image(cut)
    assert str(cut) in str(info.value)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)


def test_save_png_round_trip(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    path = tmp_path / "out.png"
    save_png(path, rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
    assert np.array_equal(np.asarray(Image.open(path)), rgb)
    with pytest.raises(ValueError):
        save_png(path, rgb.astype(np.float32))
    with pytest.raises(InputError, match="does not exist"):
        save_png(tmp_path / "missing" / "x.png", rgb)


def test_real_portraits(shared_data: Path) -> None:
    for name in ["photo/liveportrait_d38.jpg", "photo/aniportrait_lyl.png", "nonphoto/musetalk_yongen_anime.jpeg"]:
        rgb = load_image(shared_data / "portraits" / name)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert min(rgb.shape[:2]) >= 32
