"""Frame renderer: portrait + face mesh + one frame of motion -> an RGB frame.

Per frame: pose the identity's neutral mesh (plus the motion's landmark offsets, blink and head
pose), build the dense motion field from the moved control mesh, warp the portrait backwards
through it, and paint the mouth interior where the lips open. In face-crop mode the work image
is a square crop around the face; in full-frame mode only a region around the head is warped
and pasted back, so pixels far from the head are the portrait's own (no seams: the field is the
identity at that region's border).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from talkinghead.face.regions import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_LID_CREASE,
    N_MESH,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_LID_CREASE,
    face_frame,
    offsets_to_pixels,
)
from talkinghead.render.interior import MouthBank, fit_interior, load_bank, skin_colour
from talkinghead.render.lids import LID_DRAG, LOWER_LID_RISE, lid_look, paint_lids
from talkinghead.render.mouth import SEAM_DARKNESS, paint_mouth
from talkinghead.render.painted import mouth_style, painted_interior
from talkinghead.render.teeth import separate_mouth
from talkinghead.render.warp import backward_map, build_warp_mesh, warp
from talkinghead.types import FaceMesh


#: Choices of :attr:`RenderConfig.mouth`.
MOUTH_STYLES = ("real", "painted")


@dataclass(frozen=True)
class RenderConfig:
    """Renderer settings.

    Attributes:
        size: side of the square face-centred output in pixels (even, 64..2048).
        full_frame: output the whole portrait with the animated head composited back, instead of a crop.
        max_full_side: in full-frame mode, the longest output side (pixels); larger portraits are downscaled.
        map_step: dense-field subsampling (1 exact, 2 default: same look, about 4x cheaper).
        mouth: inside of the open mouth: ``"real"`` (median real mouths, :mod:`~talkinghead.render.interior`)
            or ``"painted"`` (drawn cavity, teeth and tongue, :mod:`~talkinghead.render.painted`).
    """

    size: int = 512
    full_frame: bool = False
    max_full_side: int = 1280
    map_step: int = 2
    mouth: str = "real"


@dataclass(frozen=True)
class MotionField:
    """One frame's dense motion field over the work region.

    Attributes:
        map_x, map_y: float32 ``[H, W]`` backward map (source pixel to sample per output pixel).
        landmarks: float32 ``[478, 3]`` the moved face mesh as warped (pixels; upper lids lowered only
            by :data:`~talkinghead.render.lids.LID_DRAG` of the blink), for the mouth and the lids.
        blink: eyelid closure in [0, 1], the rest of which is drawn.
    """

    map_x: np.ndarray
    map_y: np.ndarray
    landmarks: np.ndarray
    blink: float = 0.0


def _rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """3x3 rotation, degrees, image axes (x right, y down, z away); positive pitch = chin down."""
    p, y, r = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _even(n: int) -> int:
    return max(2, n - (n % 2))


class Renderer:
    """Renders frames of one portrait.

    Args:
        image: uint8 ``[H, W, 3]`` RGB portrait.
        face: the face as detected in ``image`` (pixels).
        neutral: the same face with a neutral, closed mouth (:func:`talkinghead.face.neutral.neutralize`).
        config: output settings.
        bank: with ``mouth="real"``, the mouths to draw (a person's own, from their person model);
            default the shipped bank of real mouths.
    """

    def __init__(self, image: np.ndarray, face: FaceMesh, neutral: FaceMesh, config: RenderConfig = RenderConfig(),
                 bank: MouthBank | None = None) -> None:
        self.config = config
        if config.full_frame:
            h, w = image.shape[:2]
            s = min(1.0, config.max_full_side / max(h, w))
            ow, oh = _even(int(round(w * s))), _even(int(round(h * s)))
            sx, sy = ow / w, oh / h
            work = cv2.resize(image, (ow, oh), interpolation=cv2.INTER_AREA) if (ow, oh) != (w, h) else image.copy()
            to_work = np.array([sx, sy, sx], np.float32)
            self.background = work
            x0, y0, x1, y1 = face.box
            cx, cy, half = (x0 + x1) / 2 * sx, (y0 + y1) / 2 * sy, (x1 - x0) / 2 * 1.5 * sx
            rx0, ry0 = max(0, int(cx - half)), max(0, int(cy - half))
            rx1, ry1 = min(ow, int(cx + half)), min(oh, int(cy + half))
            self.roi = (rx0, ry0, rx1, ry1)
            self.source = np.ascontiguousarray(work[ry0:ry1, rx0:rx1])
            shift = np.array([rx0, ry0, 0], np.float32)
            self._src_lm = face.landmarks * to_work - shift
            self._neutral = neutral.landmarks * to_work - shift
        else:
            size = _even(int(config.size))
            # The face box, shrunk and shifted to lie inside the picture (no invented borders).
            x0, y0, x1, y1 = face.box
            h, w = image.shape[:2]
            side = min(x1 - x0, h, w)
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
            x0 = int(np.clip(cx - side // 2, 0, w - side))
            y0 = int(np.clip(cy - side // 2, 0, h - side))
            crop = image[y0:y0 + side, x0:x0 + side]
            s = size / side
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
            self.source = cv2.resize(crop, (size, size), interpolation=interp)
            self.background = None
            self.roi = (0, 0, size, size)
            shift = np.array([x0, y0, 0], np.float32)
            self._src_lm = (face.landmarks - shift) * s
            self._neutral = (neutral.landmarks - shift) * s
        rh, rw = self.source.shape[:2]
        self._size = (rh, rw)
        self.mesh = build_warp_mesh(self._src_lm, (rh, rw))
        if config.mouth == "painted":
            self.interior = partial(painted_interior, mouth_style(self.source, self._src_lm))
        elif config.mouth == "real":
            self.interior = partial(fit_interior, bank or load_bank(), skin=skin_colour(self.source, self._src_lm))
        else:
            raise ValueError(f"mouth must be one of {', '.join(MOUTH_STYLES)}, got {config.mouth!r}")
        self.lids = lid_look(self.source, self._src_lm)
        # An open mouth is taken apart: lips filled in (so they can close), its teeth as layers.
        clean, self.teeth = separate_mouth(self.source, self._src_lm)
        self.seam = SEAM_DARKNESS if clean is not self.source else 0.0
        self.source = clean
        _, self.iod, _ = face_frame(self._neutral)
        self._pivot = np.array([
            self._neutral[:N_MESH, 0].mean(), self._neutral[:N_MESH, 1].mean(),
            float(np.median(self._neutral[:N_MESH, 2])) + 0.6 * self.iod,
        ])
        outer = self.mesh.source[self.mesh.num_face:]
        self._outer3 = np.concatenate([outer, np.full((len(outer), 1), self._pivot[2] - 0.3 * self.iod)], axis=1)

    @property
    def output_size(self) -> tuple[int, int]:
        """``(width, height)`` of rendered frames."""
        if self.background is not None:
            return self.background.shape[1], self.background.shape[0]
        return self._size[1], self._size[0]

    def target_landmarks(self, offsets: np.ndarray, pose: np.ndarray, blink: float) -> np.ndarray:
        """The moved face mesh for one frame, in work-region pixels.

        Args:
            offsets: float ``[478, 3]`` landmark offsets in IOD units (face-normalised frame).
            pose: float ``[6]`` pitch, yaw, roll (degrees), tx, ty, tz (IOD units).
            blink: eyelid closure in [0, 1].
        Returns:
            float32 ``[478, 3]`` pixels (x, y) and depth z; a full blink puts the upper lids on the lower ones.
        """
        return self._moved(offsets, pose, blink, 1.0 - LOWER_LID_RISE)

    def _moved(self, offsets: np.ndarray, pose: np.ndarray, blink: float, lid: float) -> np.ndarray:
        """Target landmarks with the upper lids lowered by ``lid`` x ``blink`` of the eye's height."""
        pts = self._neutral.astype(np.float64) + offsets_to_pixels(offsets, self._neutral)
        if blink > 0:
            for upper, lower, crease in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_LID_CREASE),
                                         (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_LID_CREASE)):
                u, lo = list(upper[1:-1]), list(lower[1:-1])
                d = pts[lo, :2] - pts[u, :2]
                pts[u, :2] += lid * blink * d
                pts[lo, :2] -= LOWER_LID_RISE * blink * d
                pts[list(crease[1:-1]), :2] += 0.3 * min(lid, LID_DRAG + 0.1) * blink * d
        return self._pose(pts, pose).astype(np.float32)

    def _pose(self, pts: np.ndarray, pose: np.ndarray, follow: np.ndarray | float = 1.0) -> np.ndarray:
        r = _rotation(float(pose[0]), float(pose[1]), float(pose[2]))
        moved = (pts - self._pivot) @ r.T + self._pivot
        moved[:, 0] += pose[3] * self.iod
        moved[:, 1] += pose[4] * self.iod
        f = np.asarray(follow, dtype=np.float64)
        if f.ndim:
            f = f[:, None]
        return pts + f * (moved - pts)

    def render(self, offsets: np.ndarray, pose: np.ndarray, blink: float) -> np.ndarray:
        """One output frame: :meth:`motion_field` then :meth:`compose`.

        Args:
            offsets: float ``[478, 3]`` landmark offsets (IOD units), one frame of a MotionSequence.
            pose: float ``[6]`` head pose relative to the portrait's.
            blink: eyelid closure in [0, 1].
        Returns:
            uint8 ``[H, W, 3]`` RGB frame of :attr:`output_size`.
        """
        return self.compose(self.motion_field(offsets, pose, blink))

    def motion_field(self, offsets: np.ndarray, pose: np.ndarray, blink: float) -> MotionField:
        """The dense motion field of one frame (the geometric half of :meth:`render`)."""
        face = self._moved(offsets, pose, blink, LID_DRAG)
        outer = self._pose(self._outer3, pose, self.mesh.ring_follow[self.mesh.num_face:])[:, :2]
        target = np.concatenate([face[:N_MESH, :2], outer])
        depth = np.concatenate([face[:N_MESH, 2], np.full(len(outer), self._pivot[2])])
        mx, my = backward_map(self.mesh, target, self._size, step=self.config.map_step, depth=depth)
        return MotionField(map_x=mx, map_y=my, landmarks=face, blink=float(blink))

    def compose(self, field: MotionField) -> np.ndarray:
        """Warp the portrait through a motion field, paint the mouth, paste into the full frame.

        Independent of other frames, so it can run on another thread than :meth:`motion_field`.
        """
        frame = warp(self.source, field.map_x, field.map_y)
        paint_mouth(frame, field.landmarks, self.interior, self.teeth, self.seam)
        paint_lids(frame, field.landmarks, field.blink, self.lids)
        if self.background is None:
            return frame
        out = self.background.copy()
        x0, y0, x1, y1 = self.roi
        out[y0:y1, x0:x1] = frame
        return out
