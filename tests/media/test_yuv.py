"""Pass-through of decoded yuv420p frames (talkinghead.media.yuv) and writing them (VideoWriter)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from talkinghead.media.video import read_decoded, read_video
from talkinghead.media.writer import VideoWriter
from talkinghead.media.yuv import (BT709, ColorTags, copy_frame, even_box, passthrough_color, paste_rgb, planes,
                                   region_rgb)


@pytest.fixture(scope="module")
def grid_video(shared_data: Path) -> Path:
    return shared_data / "grid" / "s1" / "video" / "bbaf2n.mp4"  # yuv420p, untagged (BT.601 by default)


def test_a_region_reads_as_the_whole_frame_does(grid_video: Path) -> None:
    frame = next(read_decoded(grid_video))
    rgb = next(read_video(grid_video))
    color = passthrough_color(grid_video)
    assert color == ColorTags(colorspace=2, color_range=1, primaries=2, trc=2)  # untagged: kept untagged
    box = even_box((101, 57, 251, 201), rgb.shape[:2])
    assert box == (100, 56, 252, 202)
    x0, y0, x1, y1 = box
    got = region_rgb(frame, box, color).astype(int)
    want = rgb[y0:y1, x0:x1].astype(int)
    # Inside (away from the box's edge, where chroma is interpolated from outside it): the same pixels.
    assert np.abs(got - want)[2:-2, 2:-2].max() <= 1


def test_only_the_pixels_that_change_are_written(grid_video: Path) -> None:
    color = passthrough_color(grid_video)
    src = next(read_decoded(grid_video))
    frame = copy_frame(src)
    box = (100, 60, 200, 160)
    before = region_rgb(frame, box, color)
    paste_rgb(frame, box, before, before.copy(), color)
    assert all(np.array_equal(a, b) for a, b in zip(planes(frame), planes(src)))  # nothing changed, nothing written
    after = before.copy()
    after[40:50, 31:51] = (200, 30, 40)  # a red patch
    paste_rgb(frame, box, before, after, color)
    y, u, v = (p.astype(int) for p in planes(frame))
    y0, u0, v0 = (p.astype(int) for p in planes(src))
    changed = np.argwhere(y != y0)
    assert changed.min(0).tolist() >= [100, 131] and changed.max(0).tolist() <= [109, 150]  # inside the patch
    cy, cx = np.nonzero((u != u0) | (v != v0))
    assert cy.min() >= 50 and cy.max() <= 54 and cx.min() >= 65 and cx.max() <= 75  # its 2 x 2 blocks
    back = region_rgb(frame, box, color).astype(int)
    assert np.abs(back[42:48, 33:49] - (200, 30, 40)).max() <= 6  # reads back as the red asked for


def test_decoded_frames_are_written_as_they_are_with_the_sources_tags(grid_video: Path, tmp_path: Path) -> None:
    import av

    color = passthrough_color(grid_video)
    src = [copy_frame(f) for f in islice(read_decoded(grid_video, fps=25.0), 10)]
    out = tmp_path / "pass.mp4"
    with VideoWriter(out, 25.0, (src[0].width, src[0].height), crf=0, color=color) as w:  # crf 0: lossless
        for f in src:
            w.write(copy_frame(f))
    got = list(read_decoded(out))
    assert len(got) == 10
    for a, b in zip(got, src):
        assert all(np.array_equal(p, q) for p, q in zip(planes(a), planes(b)))
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert int(cc.colorspace) == 2 and int(cc.color_range) in (0, 1)  # untagged, limited range (the default)
    with pytest.raises(ValueError, match="colour tags"):
        VideoWriter(tmp_path / "full.mp4", 25.0, (64, 64), color=ColorTags(1, 2, 1, 1))  # full range: not ours to write
    with pytest.raises(ValueError, match="yuv420p"):
        with VideoWriter(tmp_path / "bad.mp4", 25.0, (64, 64)) as w:
            w.write(av.VideoFrame(64, 48, "yuv420p"))
    assert not (tmp_path / "bad.mp4").exists()


def test_files_that_cannot_pass_through_say_so(grid_video: Path, tmp_path: Path) -> None:
    import av

    rgb = list(islice(read_video(grid_video), 3))
    ours = tmp_path / "ours.mp4"
    with VideoWriter(ours, 25.0, (rgb[0].shape[1], rgb[0].shape[0])) as w:
        for f in rgb:
            w.write(f)
    assert passthrough_color(ours) == BT709
    for name, fmt, rotate in (("full.mp4", "yuvj420p", 0), ("444.mp4", "yuv444p", 0), ("turned.mp4", "yuv420p", -90)):
        path = tmp_path / name
        with av.open(str(path), "w") as c:
            s = c.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = rgb[0].shape[1], rgb[0].shape[0], fmt
            if rotate:
                s.set_display_rotation(rotate)
            for i, f in enumerate(rgb):
                vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format=fmt)
                vf.pts = i
                c.mux(s.encode(vf))
            c.mux(s.encode(None))
        assert passthrough_color(path) is None, name


def test_pasting_only_the_changed_box_writes_what_converting_the_whole_region_would(grid_video: Path) -> None:
    """paste_rgb converts back only the changed pixels' box (with a margin): the planes it writes
    are the same, bit for bit, as converting the whole region and writing where pixels changed."""
    import av
    import cv2

    color = passthrough_color(grid_video)
    src = next(read_decoded(grid_video))
    box = (60, 40, 300, 240)
    x0, y0, x1, y1 = box
    before = region_rgb(src, box, color)
    rng = np.random.default_rng(2)
    for patch in ((3, 5, 40, 33), (0, 0, 17, 9), (150, 201, 200, 240), (90, 100, 97, 101)):  # edges, corners, odd sizes
        py0, px0, py1, px1 = patch
        after = before.copy()
        after[py0:py1, px0:px1] = rng.integers(0, 256, (py1 - py0, px1 - px0, 3), np.uint8)
        got = copy_frame(src)
        paste_rgb(got, box, before, after, color)
        # The whole region converted, written where any pixel (or any of a chroma sample's four) changed.
        whole = av.VideoFrame.from_ndarray(after, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=color.matrix, dst_color_range="MPEG")
        luma = (after != before).any(axis=2)
        chroma = cv2.resize(luma.view(np.uint8) * np.uint8(255), ((x1 - x0) // 2, (y1 - y0) // 2),
                            interpolation=cv2.INTER_AREA) > 0
        want = copy_frame(src)
        for dst, new, mask, k in zip(planes(want), planes(whole), (luma, chroma, chroma), (1, 2, 2)):
            np.copyto(dst[y0 // k:y1 // k, x0 // k:x1 // k], new, where=mask)
        assert all(np.array_equal(a, b) for a, b in zip(planes(got), planes(want))), patch
