"""Pass-through of decoded 4:2:0 frames: change only the pixels that change, keep the rest as coded.

Dubbing changes the lower face of every frame and nothing else. Converting each whole frame to
RGB and back costs more than the face work itself at 720p (swscale's RGB to YUV alone ~4 ms a
frame); here the decoded YUV frame is copied, only the face's box is converted to RGB for the
renderer, and only the pixels the renderer changed are converted back and written into the
copy (a chroma sample where any of its four pixels changed). Every other pixel keeps the exact
value the file had, so the output looks like the source in any player (its colour tags are kept).

Used where the file allows it (:func:`passthrough_color`): 8-bit yuv420p, limited range, no
rotation, even size, a BT.601 or BT.709 matrix; other files go through RGB as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av

# FFmpeg enum values (libavutil/pixfmt.h).
_AVCOL_SPC_BT709, _AVCOL_SPC_UNSPECIFIED, _AVCOL_SPC_BT470BG, _AVCOL_SPC_SMPTE170M = 1, 2, 5, 6
_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG = 0, 1


@dataclass(frozen=True)
class ColorTags:
    """How a file's YUV is to be read: matrix, range, primaries and transfer (FFmpeg's enum values).

    Attributes:
        colorspace: matrix coefficients tag (1 BT.709, 2 unspecified, 5 BT.470BG, 6 SMPTE 170M...).
        color_range: 0 unspecified, 1 limited ("tv", MPEG), 2 full.
        primaries: colour primaries tag.
        trc: transfer characteristic tag.
    """

    colorspace: int = _AVCOL_SPC_BT709
    color_range: int = _AVCOL_RANGE_MPEG
    primaries: int = 1
    trc: int = 1

    @property
    def writable(self) -> bool:
        """Whether talkinghead converts to these tags (limited range; BT.709, BT.601 or unspecified matrix)."""
        return self.color_range in (_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG) and self.colorspace in (
            _AVCOL_SPC_BT709, _AVCOL_SPC_UNSPECIFIED, _AVCOL_SPC_BT470BG, _AVCOL_SPC_SMPTE170M)

    @property
    def matrix(self) -> int:
        """The matrix swscale converts with (PyAV ``Colorspace`` value): BT.709, else BT.601
        (swscale's own choice for an unspecified tag, and the same matrix as SMPTE 170M)."""
        return 1 if self.colorspace == _AVCOL_SPC_BT709 else 5


#: Pixels kept around the changed ones when :func:`paste_rgb` converts them back (even; wider than swscale's
#: chroma filter, so the chroma written is the same as from the whole region).
_PASTE_MARGIN = 8

#: What talkinghead writes from RGB: BT.709 limited range.
BT709 = ColorTags()


def passthrough_color(path: str | os.PathLike[str]) -> ColorTags | None:
    """The video's colour tags if its decoded frames can be passed through (:mod:`this module <talkinghead.media.yuv>`), else None.

    Args:
        path: a video file (already probed: it opens and has a decodable video stream).
    Returns:
        The first frame's tags when it is 8-bit ``yuv420p`` with an even size, no rotation, limited
        (or unspecified) range and a BT.601 / BT.709 / unspecified matrix; None otherwise.
    """
    from talkinghead.media.video import read_decoded

    frames = read_decoded(path)
    try:
        f = next(frames, None)
    finally:
        frames.close()  # type: ignore[attr-defined]
    if f is None or f.format.name != "yuv420p" or f.width % 2 or f.height % 2 or round(f.rotation / 90.0) % 4:
        return None
    tags = ColorTags(int(f.colorspace), int(f.color_range), int(f.color_primaries), int(f.color_trc))
    return replace(tags, color_range=_AVCOL_RANGE_MPEG) if tags.writable else None


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of a yuv420p frame's Y ``[H, W]``, U and V ``[H/2, W/2]`` uint8 planes (writable: they are the frame's memory)."""
    return tuple(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width] for p in frame.planes)  # type: ignore[return-value]


def copy_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A new yuv420p frame with ``frame``'s pixels and colour tags (its own memory)."""
    import av

    out = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for dst, src in zip(planes(out), planes(frame)):
        dst[:] = src
    out.colorspace, out.color_range = frame.colorspace, frame.color_range
    return out


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A whole frame as uint8 ``[H, W, 3]`` RGB, converted as :func:`~talkinghead.media.video.read_video` converts."""
    return frame.reformat(format="rgb24", threads=1).to_ndarray()


def from_rgb(rgb: np.ndarray, color: ColorTags, reformatter: av.video.reformatter.VideoReformatter | None = None
             ) -> av.VideoFrame:
    """uint8 ``[H, W, 3]`` RGB (H and W even) as a yuv420p frame, limited range, in ``color``'s matrix, by
    swscale on one thread (``reformatter``: a cached one, as a writer keeps; None: the frame's own).
    The one RGB -> yuv420p conversion of the writer and of :func:`paste_rgb`."""
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    convert = frame.reformat if reformatter is None else partial(reformatter.reformat, frame)
    return convert(format="yuv420p", dst_colorspace=color.matrix, dst_color_range="MPEG", threads=1)


def even_box(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` grown to even corners inside an image of even ``(height, width)``."""
    x0, y0, x1, y1 = box
    h, w = size
    return x0 - x0 % 2, y0 - y0 % 2, min(w, x1 + x1 % 2), min(h, y1 + y1 % 2)


def region_rgb(frame: av.VideoFrame, box: tuple[int, int, int, int], color: ColorTags) -> np.ndarray:
    """The pixels of ``box`` (even corners) as uint8 ``[h, w, 3]`` RGB, converted as :func:`~talkinghead.media.video.read_video` converts whole frames."""
    import av

    x0, y0, x1, y1 = box
    sub = av.VideoFrame(x1 - x0, y1 - y0, "yuv420p")
    for dst, src, k in zip(planes(sub), planes(frame), (1, 2, 2)):
        dst[:] = src[y0 // k:y1 // k, x0 // k:x1 // k]
    sub.colorspace = color.colorspace
    return to_rgb(sub)


def paste_rgb(frame: av.VideoFrame, box: tuple[int, int, int, int], before: np.ndarray, after: np.ndarray,
              color: ColorTags) -> None:
    """Write into ``frame`` (in place) the pixels of ``box`` where ``after`` differs from ``before``.

    Args:
        frame: a writable yuv420p frame (:func:`copy_frame`).
        box: even ``(x0, y0, x1, y1)``, the region ``before`` was read from (:func:`region_rgb`).
        before, after: uint8 ``[h, w, 3]`` RGB, the region as read and as it should be.
        color: the matrix to convert with (the file's).
    """
    import cv2

    x0, y0, x1, y1 = box
    if x0 % 2 or y0 % 2 or x1 % 2 or y1 % 2 or after.shape != before.shape or after.shape[:2] != (y1 - y0, x1 - x0):
        raise ValueError(f"paste_rgb: the box {box} must have even corners and the regions its size")
    # Any channel changed: the channels' absolute differences summed (saturating, so never 0 unless all are).
    changed = cv2.transform(cv2.absdiff(after, before), np.ones((1, 3), np.float32))
    bx, by, bw, bh = cv2.boundingRect(changed)  # of the changed pixels
    if not bw:
        return
    # Only that box (a margin for swscale's chroma filter, even corners) is converted back.
    h, w = changed.shape
    cx0, cy0 = max(0, bx - _PASTE_MARGIN) & ~1, max(0, by - _PASTE_MARGIN) & ~1
    cx1, cy1 = min(w, (bx + bw + _PASTE_MARGIN + 1) & ~1), min(h, (by + bh + _PASTE_MARGIN + 1) & ~1)
    new = from_rgb(after[cy0:cy1, cx0:cx1], color)
    luma = changed[cy0:cy1, cx0:cx1] > 0
    # A chroma sample is rewritten where any of its 2 x 2 pixels changed (a 2 x 2 mean of 0/255 is 0 only if all are 0).
    chroma = cv2.resize(luma.view(np.uint8) * np.uint8(255), ((cx1 - cx0) // 2, (cy1 - cy0) // 2),
                        interpolation=cv2.INTER_AREA) > 0
    x0, y0 = x0 + cx0, y0 + cy0
    x1, y1 = x0 + cx1 - cx0, y0 + cy1 - cy0
    for dst, src, mask, k in zip(planes(frame), planes(new), (luma, chroma, chroma), (1, 2, 2)):
        np.copyto(dst[y0 // k:y1 // k, x0 // k:x1 // k], src, where=mask)
