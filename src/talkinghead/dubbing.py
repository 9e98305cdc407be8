"""Dubbing: a talking video re-animated to new speech (``talkinghead dub VIDEO AUDIO -o out.mp4``).

The video keeps its own frames, head motion, eyes, hair, body and background; only lips, jaw
and cheeks follow the new speech. The face is tracked (MediaPipe, video mode) on every other
frame, the frames between interpolated (:data:`TRACK_STRIDE`), and the track smoothed
(:func:`talkinghead.face.track.smooth_track`); each frame's mesh is
closed to a neutral mouth (:func:`talkinghead.face.neutral.neutralize`) and the new motion's
lower-face offsets are added, exactly the motion ``generate`` makes; the frame is then warped to
it by the dense motion field and the inside of the mouth drawn from the person's own mouths
(:mod:`talkinghead.render.reanimate`). Frames without a face, or turned too far, pass through
untouched, with a ramp in and out of them. The output is as long as the new speech: a shorter
video plays forward, then backward (no jump cut), and so on; the video's sound is replaced.

Where the person's mouth comes from, in order: a fitted person model (``--person``), else the
video's own frames (a mouth bank of its open and closed mouths; with ``holdout_s`` each half of
the video draws its mouths only from the other half, so no frame's own mouth is ever copied
into it, as the evaluation needs), else the shipped generic bank (a video too short to learn from).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.pipeline import Analysis, GenerateConfig, StageTimes, make_motion, progress_bar
from talkinghead.types import FaceMesh, FaceTrack, InputError, MotionSequence, PersonModel

if TYPE_CHECKING:
    import av

    from talkinghead.media.video import VideoInfo

log = logging.getLogger("talkinghead")

#: Frames over which the re-animation fades in and out around frames without a face.
HANDOVER_FRAMES = 4
#: MediaPipe tracks every this-many-th frame of a dubbed video (and its last); the frames between are
#: interpolated (their mouths still go to the person's bank). Tracking is the dub's largest cost (about
#: 11 ms a 720p frame on one core); against the real frames (``talkinghead eval --systems dub``, sets
#: grid_test, videos and dub_cross) every other frame scored as every frame did (mouth r and LMD a
#: little better, mouth-crop PSNR equal; see the README).
TRACK_STRIDE = 2
#: Temporal Gaussian (frames) over the dubbed video's track. The warp moves the lips from where the track
#: says they are, so what smoothing takes off the real lips' motion stays in the picture: the old mouth
#: shows through (a 1-frame sigma passes only 60% of 4 Hz motion into the track). Cross-dubbing GRID test
#: clip A's video with B's speech (``talkinghead eval --sets dub_cross``), 1.0 -> 0.5: leak r (partial
#: r with A's real mouth given B's) 0.258 -> 0.224 (one-shot, which never sees A: 0.172), mouth r against
#: B 0.912 -> 0.913, LMD and jitter equal; self-reconstruction r, which the leak raised, 0.918 -> 0.912
#: (GRID) and 0.591 -> 0.569 (interviews). 0 leaks less again (0.214) and loses more there (0.910, 0.560).
TRACK_SIGMA = 0.5
#: JPEG quality of the frames held in memory between tracking and rendering.
FRAME_QUALITY = 95


def pingpong(k: int, n: int) -> int:
    """Index of the source frame shown at output frame ``k`` of a video of ``n`` frames: 0..n-1, n-2..1, 0.."""
    if n <= 1:
        return 0
    period = 2 * (n - 1)
    r = k % period
    return r if r < n else period - r


def dub_rate(info: VideoInfo) -> float:
    """The frame rate a video is dubbed at (and its motion made at): its own mean rate, within 1-60 fps."""
    return float(np.clip(info.fps, 1.0, 60.0))


def frames_needed(duration_s: float, info: VideoInfo) -> int:
    """How many of the video's frames a dub of ``duration_s`` seconds of speech shows (its motion's
    frame count at :func:`dub_rate`): the most :class:`Dubber` needs to read (``max_frames``)."""
    from talkinghead.motion.rules import num_video_frames

    return num_video_frames(duration_s, dub_rate(info))


def lower_face_weight() -> np.ndarray:
    """How much each landmark follows the new speech, float32 ``[478]``: 1 from the upper lip down, 0 above the nose tip."""
    from talkinghead.face.regions import canonical_mesh, smoothstep

    m = canonical_mesh()
    nose_y, lip_y = float(m[1, 1]), float(m[0, 1])  # nose tip, top of the upper lip
    return smoothstep(nose_y - 0.02, lip_y, m[:, 1]).astype(np.float32)


def handover(found: np.ndarray, frames: int = HANDOVER_FRAMES) -> np.ndarray:
    """Re-animation strength per frame, float32 ``[F]`` in [0, 1]: 0 without a face, ramping over ``frames`` around."""
    from scipy.ndimage import distance_transform_edt

    if not found.any():
        return np.zeros(len(found), np.float32)
    if found.all():
        return np.ones(len(found), np.float32)
    dist = distance_transform_edt(found)
    return np.clip(dist / (frames + 1), 0.0, 1.0).astype(np.float32)


def _jpeg(frame: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, FRAME_QUALITY])
    return buf.tobytes()


class _Frames:
    """The video's frames in the order dubbing asks for them: decoded from the file again (on a
    second thread) while they go forward, from JPEG copies held in memory (about 100 KB a 720p
    frame) from the first step back on (a video shorter than the speech plays back and forth).
    Without ``yuv``, held copies are used from the start where there are any.

    Args:
        video, fps: the file and the rate it was read at.
        count: frames the first pass read (the most ever asked for).
        held: the first pass's JPEG copies, or None (they are made on the first step back).
        yuv: going forward, give the decoded frames as they are (``av.VideoFrame``, to pass through,
            :mod:`talkinghead.media.yuv`) instead of RGB; held copies are RGB all the same.
    """

    def __init__(self, video: Path, fps: float, count: int, held: list[bytes] | None, yuv: bool = False) -> None:
        self.video, self.fps, self.count, self.held, self.yuv = video, fps, count, held, yuv
        self._stream: Iterator[np.ndarray] | None = None
        self._next = 0
        self._back = False  # asked for an earlier frame once

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> np.ndarray | av.VideoFrame:
        import cv2

        from talkinghead.media.prefetch import prefetched
        from talkinghead.media.video import read_decoded, read_video

        if i < self._next:  # going back: from the held copies from now on (made now if there are none)
            self._back = True
            self.close()
            if self.held is None:
                self.held = [_jpeg(f) for f in islice(read_video(self.video, fps=self.fps), self.count)]
        if self.held is not None and (self._back or not self.yuv):
            return cv2.cvtColor(cv2.imdecode(np.frombuffer(self.held[i], np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        if self._stream is None:
            frames = read_decoded(self.video, fps=self.fps) if self.yuv else read_video(self.video, fps=self.fps)
            self._stream = prefetched(frames, name="talkinghead-decode")
        frame = None
        while self._next <= i:
            frame = next(self._stream, None)
            if frame is None:
                raise InputError(f"{self.video}: the video ended at frame {self._next} on the second reading")
            self._next += 1
        return frame

    def close(self) -> None:
        """Stop decoding ahead (the JPEG copies stay)."""
        if self._stream is not None:
            self._stream.close()  # type: ignore[attr-defined]
            self._stream, self._next = None, 0


class Dubber:
    """A video prepared for dubbing: tracked, its neutral mouths and its mouth bank ready.

    Args:
        video: a video file with a talking face.
        config: generation settings (``fps`` is replaced by the video's own; ``size`` and
            ``full_frame`` are unused: the output has the video's size).
        bank: the person's mouth bank (from a person model); None learns it from the video.
        holdout_s: with no ``bank``: draw each frame's mouth only from frames at least this many
            seconds away (the video is split in halves; each uses the other's bank); None: all frames.
        progress: show progress bars.
        max_frames: read at most this many frames (speech shorter than the video needs no more).
        info: the video's :func:`~talkinghead.media.video.probe_video` result, if already known.
        track_stride: MediaPipe tracks every ``track_stride``-th frame (and the last); the frames
            between are interpolated (:func:`~talkinghead.face.track.fill_skipped`) before smoothing.
        busy: while it returns True (a second process, the speech analysis, has the other core),
            frames are decoded on this thread, not ahead on a second one
            (:func:`~talkinghead.media.prefetch.prefetched_once_idle`).
    Raises:
        InputError: unreadable video, no video stream, or no face in any frame.
    """

    def __init__(self, video: str | os.PathLike[str], config: GenerateConfig = GenerateConfig(),
                 bank: object | None = None, holdout_s: float | None = None, progress: bool = False,
                 max_frames: int | None = None, info: VideoInfo | None = None, track_stride: int = TRACK_STRIDE,
                 busy: Callable[[], bool] | None = None) -> None:
        from talkinghead.face.track import TRACK_SHORT_SIDE, Tracker, fill_skipped, smooth_track
        from talkinghead.media.prefetch import prefetched_once_idle
        from talkinghead.media.video import probe_video, read_video
        from talkinghead.media.yuv import passthrough_color
        from talkinghead.render.interior import skin_colour

        self.times = StageTimes()
        self.video = Path(video)
        info = info or probe_video(self.video)
        self.info = info
        self.config = replace(config, fps=dub_rate(info))
        self.config.validate()
        t = time.perf_counter()
        held: list[bytes] = []
        skins: list[np.ndarray] = []
        limit = max(1, int(max_frames)) if max_frames is not None and max_frames < info.num_frames else None
        if limit is not None:
            info = replace(info, num_frames=limit)
        # Frames are held (JPEG) only where the output will play them back; otherwise the second
        # pass decodes the file again, which costs less than coding JPEGs and holds no memory.
        hold = max_frames is None or max_frames > info.num_frames
        frames = ((f, _jpeg(f) if hold else b"") for f in islice(read_video(self.video, fps=info.fps), limit))
        builders = self._builders(bank, holdout_s, info)
        stride = max(1, int(track_stride))
        skipped: list[bool] = []
        waiting: list[tuple[int, np.ndarray]] = []  # frames left out since the last tracked one
        last: tuple[int, FaceMesh | None] = (0, None)  # the last tracked frame and its face
        with progress_bar(progress, info.num_frames, "tracking") as bar, \
                Tracker(info.fps, max_short_side=TRACK_SHORT_SIDE) as tracker:

            def seen(i: int, frame: np.ndarray, lm: np.ndarray | None, yaw: float) -> None:
                """A frame's skin colour, and its mouth for the person's bank, while the frame is at hand."""
                skins.append(skin_colour(frame, lm) if lm is not None else np.full(3, np.nan, np.float32))
                if lm is not None and abs(yaw) <= 30.0:
                    for builder, takes in builders:  # builders take the frames they may use
                        if takes(i):
                            builder.add(frame, lm)

            def tracked(i: int, frame: np.ndarray) -> None:
                """Track frame ``i``; the frames left out before it get its and the last tracked frame's landmarks, interpolated."""
                nonlocal last
                for _ in waiting:
                    tracker.skip()
                face = tracker.add(frame)
                p, before = last
                for j, left_out in waiting:
                    if before is None or face is None:
                        seen(j, left_out, None, 0.0)
                        continue
                    w = (j - p) / (i - p)
                    seen(j, left_out, (1 - w) * before.landmarks + w * face.landmarks,
                         float((1 - w) * before.rotation_deg[1] + w * face.rotation_deg[1]))
                seen(i, frame, None if face is None else face.landmarks, 0.0 if face is None else float(face.rotation_deg[1]))
                skipped.extend([True] * len(waiting) + [False])
                waiting.clear()
                last = (i, face)

            for i, (frame, jpeg) in enumerate(prefetched_once_idle(frames, busy or (lambda: False),
                                                                   name="talkinghead-decode")):
                if hold:
                    held.append(jpeg)
                if i % stride:
                    waiting.append((i, frame))
                else:
                    tracked(i, frame)
                if bar is not None:
                    bar.update(1)
            if waiting:  # the last frame is tracked too: nothing is extrapolated
                tracked(*waiting.pop())
            raw = fill_skipped(tracker.track(), np.array(skipped, bool))
        if not raw.num_frames:
            raise InputError(f"{self.video}: no video frames")
        #: The file's colour tags where its frames pass through as decoded (None: through RGB).
        self.color = passthrough_color(self.video)
        self.video_frames = _Frames(self.video, info.fps, raw.num_frames, held if hold else None,
                                    yuv=self.color is not None)
        self.size = raw.size
        self.track: FaceTrack = smooth_track(raw, sigma_frames=TRACK_SIGMA)
        if not self.track.found.any():
            raise InputError(f"{self.video}: no face found in any frame")
        self.skin = _smooth_colours(np.stack(skins))
        self.times.add("track", time.perf_counter() - t)
        t = time.perf_counter()
        self.neutral = self._neutral_mouths()
        self.weight = handover(self.track.found)
        self.lower = lower_face_weight()
        self.banks, self.bank_of = self._banks(bank, builders)
        self.times.add("person", time.perf_counter() - t)
        log.info("dub: %d frames, face in %d, mouth banks %s", raw.num_frames, int(self.track.found.sum()),
                 [len(b.openings) for b in self.banks])

    @property
    def num_frames(self) -> int:
        return len(self.video_frames)

    @property
    def output_size(self) -> tuple[int, int]:
        """``(width, height)`` of the output: the video's, made even."""
        h, w = self.size
        return w - w % 2, h - h % 2

    def _neutral_mouths(self) -> np.ndarray:
        """float32 ``[F, 478, 3]``: each frame's tracked mesh with the lips closed."""
        from talkinghead.face.neutral import neutralize

        out = np.empty_like(self.track.landmarks)
        zero3 = np.zeros(3, np.float32)
        for i, lm in enumerate(self.track.landmarks):
            face = FaceMesh(landmarks=lm, rotation_deg=self.track.pose[i], translation=zero3, box=(0, 0, 1, 1),
                            image_size=self.size)
            out[i] = neutralize(face).landmarks
        return out

    def _builders(self, bank: object | None, holdout_s: float | None, info: object) -> list:
        """Mouth-bank builders and which frames each may take: all frames, or with a hold-out, the
        second half's (for the first half's frames) and the first half's (for the second's), never
        closer than the hold-out to the frames that will use them."""
        from talkinghead.person.mouth import MouthBankBuilder

        self._split: int | None = None
        if bank is not None:
            return []
        if holdout_s is None:
            return [(MouthBankBuilder(per_bin=120), lambda i: True)]
        gap, mid = int(round(holdout_s * float(info.fps))), int(info.num_frames) // 2  # type: ignore[attr-defined]
        self._split = mid
        return [(MouthBankBuilder(per_bin=120), lambda i: i >= mid + gap),
                (MouthBankBuilder(per_bin=120), lambda i: i < mid - gap)]

    def _banks(self, bank: object | None, builders: list) -> tuple[list, np.ndarray]:
        """Mouth banks, and for each frame the index of the bank it draws from."""
        from talkinghead.render.interior import load_bank

        n = self.num_frames
        if bank is not None:
            return [bank], np.zeros(n, np.int64)
        mid = self._split
        users = [np.arange(n)] if mid is None else [np.arange(0, mid), np.arange(mid, n)]
        banks, bank_of = [], np.zeros(n, np.int64)
        for (builder, _), frames in zip(builders, users):
            try:
                banks.append(builder.build(exact=True, source=str(self.video)))
            except InputError:
                log.info("dub: too little footage for the person's mouth; using the generic mouth bank")
                banks.append(load_bank())
            bank_of[frames] = len(banks) - 1
        return banks, bank_of

    def motion(self, analysis: Analysis, model: object | None = None) -> MotionSequence:
        """The new speech's motion at the video's frame rate (as ``generate`` makes it; ``model``: a
        person's fine-tuned learned motion, None for the shipped one)."""
        return make_motion(analysis, self.config, self.times, model)

    def target(self, k: int, motion: MotionSequence) -> tuple[int, np.ndarray, np.ndarray]:
        """Output frame ``k``: ``(source frame index, its tracked mesh [478, 3], the wanted mesh [478, 3])``."""
        from talkinghead.face.regions import offsets_to_pixels

        i = pingpong(k, self.num_frames)
        src = self.track.landmarks[i]
        neutral = self.neutral[i]
        offsets = motion.landmark_offsets[min(k, motion.num_frames - 1)] * self.lower[:, None]
        wanted = neutral + offsets_to_pixels(offsets, neutral)
        return i, src, src + self.weight[i] * (wanted - src)

    def frames(self, motion: MotionSequence) -> Iterator[np.ndarray | av.VideoFrame]:
        """The dubbed frames, one per frame of ``motion``, at :attr:`output_size`: uint8 ``[H, W, 3]``
        RGB, or where the file's frames pass through (:attr:`color` set), yuv420p ``av.VideoFrame``
        copies of them changed only where the face moves (:mod:`talkinghead.media.yuv`)."""
        from talkinghead.media.yuv import copy_frame, to_rgb
        from talkinghead.render.interior import fit_interior
        from talkinghead.render.reanimate import reanimate

        w, h = self.output_size
        try:
            for k in range(motion.num_frames):
                i, src, tgt = self.target(k, motion)
                frame = self.video_frames[i]
                if not isinstance(frame, np.ndarray) and (frame.format.name != "yuv420p"
                                                          or (frame.width, frame.height) != (w, h)):
                    frame = to_rgb(frame)  # the stream changed format or size part-way: through RGB
                passed = not isinstance(frame, np.ndarray)
                if passed:
                    frame = copy_frame(frame)
                if self.weight[i] > 0:
                    interior = partial(fit_interior, self.banks[self.bank_of[i]], skin=self.skin[i])
                    if passed:
                        self._reanimate_yuv(frame, src, tgt, interior)
                    else:
                        frame = reanimate(frame, src, tgt, interior)
                yield frame if passed else np.ascontiguousarray(frame[:h, :w])
        finally:
            self.video_frames.close()

    def _reanimate_yuv(self, frame: av.VideoFrame, source: np.ndarray, target: np.ndarray, interior: object) -> None:
        """:func:`~talkinghead.render.reanimate.reanimate` on a yuv420p frame, in place: only the face's
        box goes through RGB, and only the pixels that change come back."""
        from talkinghead.media.yuv import even_box, paste_rgb, region_rgb
        from talkinghead.render.reanimate import face_region, reanimate

        assert self.color is not None
        box = even_box(face_region(np.concatenate([source[:, :2], target[:, :2]]), self.size), self.size)
        x0, y0, x1, y1 = box
        if x1 - x0 < 8 or y1 - y0 < 8:
            return
        shift = np.array([x0, y0], np.float32)
        before = region_rgb(frame, box, self.color)
        after = reanimate(before, source[:, :2] - shift, target[:, :2] - shift, interior)  # type: ignore[arg-type]
        paste_rgb(frame, box, before, after, self.color)


def _smooth_colours(skins: np.ndarray, sigma_frames: float = 5.0) -> np.ndarray:
    """Per-frame skin colours ``[F, 3]`` (NaN where no face) filled and smoothed over time, so the
    mouth's inside does not flicker with the measurement's noise."""
    from talkinghead.motion.filters import gaussian_filter1d

    ok = np.isfinite(skins[:, 0])
    if not ok.any():
        return np.full_like(skins, 128.0)
    idx, frames = np.flatnonzero(ok), np.arange(len(skins))
    filled = np.stack([np.interp(frames, idx, skins[idx, c]) for c in range(3)], axis=1)
    return gaussian_filter1d(filled, sigma_frames, axis=0, mode="nearest").astype(np.float32)


def dub(video: str | os.PathLike[str], audio: str | os.PathLike[str], output: str | os.PathLike[str],
        transcript: str | None = None, config: GenerateConfig = GenerateConfig(), progress: bool = False,
        holdout_s: float | None = None, person: PersonModel | None = None) -> StageTimes:
    """Re-animate the face in ``video`` to say ``audio``; write an mp4 as long as the audio.

    Args:
        video: the talking video (any format FFmpeg reads; its sound is replaced).
        audio: the new speech (wav/flac/mp3/m4a/ogg, or a video whose audio track is used).
        output: the mp4 to write, atomically.
        transcript: the new speech's words (English), for exact phones.
        config: motion settings (``phones``, ``motion``, ``seed``); the frame rate is the video's.
        progress: progress bars on stderr.
        holdout_s: see :class:`Dubber`.
        person: a person model (``talkinghead fit``): its mouths are drawn, and its fine-tuned
            motion model (where it has one) drives the face.
    Returns:
        Per-stage wall-clock seconds.
    Raises:
        InputError: bad input (no face in the video, unreadable files, output not an mp4...).
    """
    from talkinghead.media.audio import AudioTrack, load_speech
    from talkinghead.media.encode import write_video
    from talkinghead.media.video import probe_video
    from talkinghead.media.yuv import BT709
    from talkinghead.pipeline import analysis_aside, check_output, times_merge

    output = check_output(output, video, audio)
    info = probe_video(video)
    if info.num_frames <= 1:  # a one-frame video is a photo
        return _dub_still(video, audio, output, transcript, config, progress, person)
    times = StageTimes()
    t = time.perf_counter()
    speech = load_speech(audio)
    times.add("load", time.perf_counter() - t)
    bank = model = None
    if person is not None:
        from talkinghead.person.model import person_bank, person_motion

        bank, model = person_bank(person), person_motion(person)
    needed = frames_needed(speech.duration_s, info)
    # The speech is analysed (recognition: ~0.2 RTF) in a second process while the face is tracked.
    # Sent to the analysis and let go here (the sound streams from the file; the fallback loads it again).
    with analysis_aside(speech, transcript, config.phones, reload=partial(load_speech, audio)) as analysis:
        del speech
        dubber = Dubber(video, config, bank=bank, holdout_s=holdout_s, progress=progress, max_frames=needed, info=info,
                        busy=analysis.running)
        times = times_merge(times, dubber.times)
        motion = dubber.motion(analysis(times), model)
    with progress_bar(progress, motion.num_frames, "dubbing") as bar, AudioTrack(audio) as sound:
        write_video(dubber.frames(motion), motion.fps, dubber.output_size, sound, output, times.add,
                    bar.update if bar is not None else None, color=dubber.color or BT709)
    return times


def _dub_still(video: str | os.PathLike[str], audio: str | os.PathLike[str], output: Path, transcript: str | None,
               config: GenerateConfig, progress: bool, person: PersonModel | None) -> StageTimes:
    """A one-frame video: ``generate`` from that frame, full frame."""
    import tempfile

    import cv2

    from talkinghead.media.video import read_video
    from talkinghead.pipeline import generate

    frame = next(iter(read_video(video)), None)
    if frame is None:
        raise InputError(f"{video}: no video frames")
    with tempfile.TemporaryDirectory(prefix="talkinghead-dub-") as tmp:
        still = Path(tmp) / "frame.png"
        cv2.imwrite(str(still), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        return generate(still, audio, output, transcript=transcript, config=replace(config, full_frame=True),
                        progress=progress, person=person)
