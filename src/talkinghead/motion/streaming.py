"""Motion from speech as it arrives: the learned path with a fixed look-ahead, for live streaming.

Offline, :func:`~talkinghead.motion.learned.learned_motion` sees the whole utterance: features
normalised over all of it, voice activity from its noise floor, the network run over it with
its full reach (about 1 s either side), phones from recognition. A stream cannot wait for the
end, so :class:`StreamingMotion` makes each video frame as soon as the speech has reached
``lookahead_s`` past it:

- audio features (:func:`~talkinghead.audio.features.compute_features`) are computed on each
  new stretch of audio with 0.1 s of context (the newest 0.1 s provisionally, again with more
  audio): log-mel and loudness are then the offline ones exactly; pitch and formants nearly (their
  voicing gate compares with the loudest level of the stretch analysed, not of the utterance);
- voice activity and the per-utterance normalisation of the network's inputs (band means, pitch,
  the vocal tract warp of a model trained with one) use the last :data:`HISTORY_S` of speech
  (a rolling utterance);
- the network runs on the last :data:`CONTEXT_S` of audio and no further than the look-ahead;
  no phones (``UNK`` tokens, the condition the model is also trained in);
- head pose is the prosody rule over the same history with one :class:`HeadWander` drawn
  frame by frame; blinks are the same gamma process as offline (:class:`BlinkStream`).

Memory is bounded by :data:`HISTORY_S` whatever the length of the stream. How closely the
streamed mouth follows the offline one, and real faces, is measured by ``python
benchmarks/live.py`` and by ``talkinghead eval --systems learned-stream``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from talkinghead.types import FEATURE_RATE, N_MELS, AudioFeatures, MotionSequence, Speech

#: Seconds of speech a frame waits for past its own time (besides the read-ahead
#: :data:`~talkinghead.motion.learned.READ_AHEAD_S`): the network's view of what comes next.
LOOKAHEAD_S = 0.2
#: Seconds of past speech over which voice activity and the input normalisation are computed.
HISTORY_S = 10.0
#: Seconds of audio before the first new frame that each network pass sees.
CONTEXT_S = 1.0
#: Longest look-ahead (s): the history must still reach back to the frames being made.
MAX_LOOKAHEAD_S = HISTORY_S - CONTEXT_S - 2.0
#: Frames made per network pass (more: fewer passes, but a frame waits up to ``STEP_FRAMES - 1`` frames longer).
#: 1, each frame as soon as its speech is there: ``python benchmarks/live.py`` at 512x512, 2 -> 1: latency
#: median 275-276 -> 241 ms, 95th percentile 300-301 -> 261-262 ms, motion 0.14-0.16 -> 0.27-0.30 of real
#: time, none dropped; against real faces (``talkinghead eval --systems learned-stream``) mouth r GRID s1
#: 0.827 -> 0.821, unseen GRID 0.713 -> 0.710, interviews 0.252 -> 0.250 (the first frame of a pair saw
#: 40 ms more of what comes next).
STEP_FRAMES = 1
#: Sample rate of the audio :meth:`StreamingMotion.push` takes (Hz).
STREAM_RATE = 16000
_HOP = int(STREAM_RATE // FEATURE_RATE)  # samples per 100 Hz feature frame
_FEATURE_CONTEXT = 10  # 100 Hz frames of audio kept either side of a new stretch (0.1 s)


@dataclass(frozen=True)
class MotionFrame:
    """One video frame's motion, as a stream makes it.

    Attributes:
        index: frame number from the start of the stream (0, 1, ...).
        time_s: the frame's time, ``index / fps`` (s).
        offsets: float32 ``[478, 3]`` landmark offsets from the neutral mesh (IOD units).
        pose: float32 ``[6]`` head pose (pitch, yaw, roll in degrees; tx, ty, tz in IOD units).
        blink: eyelid closure in [0, 1].
        au: float32 ``[52]`` ARKit blendshapes in [0, 1].
    """

    index: int
    time_s: float
    offsets: np.ndarray
    pose: np.ndarray
    blink: float
    au: np.ndarray


class StreamingMotion:
    """Learned face motion, head pose and blinks from speech pushed in pieces of any length.

    Usage::

        stream = StreamingMotion(LearnedMotion.from_file(), MotionConfig(fps=25))
        for chunk in chunks:              # float32 mono at 16 kHz, e.g. 20 ms each
            for frame in stream.push(chunk):
                ...                       # frames in order, each once, as soon as it is known
        for frame in stream.finish():     # the rest, when the speech has ended
            ...

    The frames cover the speech like offline generation (``round(duration * fps)`` frames, at
    least one; none when no speech was pushed). A frame is made once the speech reaches ``lookahead_s`` + the read-ahead past
    its time (frames come ``step`` at a time): its latency is about ``lookahead_s + 0.04`` s, up
    to ``step - 1`` frame times more, plus the compute time. The newest 0.1 s of features is
    provisional (computed again when more audio has come).

    Args:
        model: the learned motion model (:meth:`LearnedMotion.from_file`).
        config: a :class:`~talkinghead.motion.rules.MotionConfig` (fps, pose scale, blink rate, seed).
        lookahead_s: see :data:`LOOKAHEAD_S` (>= 0).
        read_ahead_s: the model's read-ahead (:data:`~talkinghead.motion.learned.READ_AHEAD_S`).
        step: frames made per network pass (:data:`STEP_FRAMES`; 1 = each frame as soon as possible).
    Raises:
        ValueError: a look-ahead outside 0 .. :data:`MAX_LOOKAHEAD_S`.
    """

    def __init__(self, model, config=None, lookahead_s: float = LOOKAHEAD_S, read_ahead_s: float | None = None,
                 step: int = STEP_FRAMES) -> None:
        from talkinghead.motion.blinks import BlinkStream
        from talkinghead.motion.head_pose import HeadWander
        from talkinghead.motion.learned import READ_AHEAD_S
        from talkinghead.motion.rules import MotionConfig

        if not 0 <= lookahead_s <= MAX_LOOKAHEAD_S:
            raise ValueError(f"look-ahead must be 0 to {MAX_LOOKAHEAD_S:g} s, got {lookahead_s!r}")
        self.model = model
        self.config = config or MotionConfig()
        self.fps = float(self.config.fps)
        self.lookahead_s = float(lookahead_s)
        self.read_ahead_s = READ_AHEAD_S if read_ahead_s is None else float(read_ahead_s)
        self._audio = np.zeros(0, np.float32)  # samples from ``_a0`` on
        self._a0 = 0
        self._received = 0
        self._h0 = 0  # first 100 Hz frame of the history
        self._mel = np.zeros((0, N_MELS), np.float32)
        self._energy = np.zeros(0, np.float32)
        self._f0 = np.zeros(0, np.float32)
        self._formants = np.zeros((0, 2), np.float32)
        self._next = 0  # next video frame to make
        self._wander = HeadWander(self.fps, self.config.seed)
        self._wander_past = np.zeros((0, 3))  # wander of frames [_w0, _next)
        self._w0 = 0
        self._blinks = BlinkStream(self.fps, self.config.blink_rate, self.config.seed)
        self._finished = False
        self.step = max(1, int(step))

    def warm_up(self) -> None:
        """Load and run everything once on silence (imports, the graph's first run), so the first
        real frames are not late; the stream's state is unchanged."""
        from talkinghead.audio.features import compute_features, speech_activity
        from talkinghead.motion.learned import dynamics_features, frame_index

        f = compute_features(Speech(np.zeros(STREAM_RATE // 2, np.float32), STREAM_RATE))
        active = speech_activity(f)
        index = frame_index(5, self.fps, f.num_frames, FEATURE_RATE)
        self.model.run(self.model.content(f.mel), np.zeros(f.num_frames, np.int64),
                       dynamics_features(f.energy, f.f0, f.formants, active), index)

    @property
    def frames_made(self) -> int:
        """Frames returned so far."""
        return self._next

    @property
    def received_s(self) -> float:
        """Seconds of speech pushed so far."""
        return self._received / STREAM_RATE

    def push(self, samples: np.ndarray) -> list[MotionFrame]:
        """Add speech; return the frames it completes (possibly none).

        Args:
            samples: float mono ``[N]`` at :data:`STREAM_RATE` (16 kHz), in [-1, 1].
        Raises:
            ValueError: not 1-D, or pushed after :meth:`finish`.
        """
        x = np.asarray(samples, np.float32)
        if x.ndim != 1:
            raise ValueError(f"stream audio must be mono (1-D), got shape {x.shape}")
        if self._finished:
            raise ValueError("the stream is finished")
        made: list[MotionFrame] = []
        for i in range(0, len(x), STREAM_RATE):  # a long piece as 1 s ones: the history must cover the new frames
            part = x[i:i + STREAM_RATE]
            self._audio = np.concatenate([self._audio, part])
            self._received += len(part)
            due = (self._next + self.step - 1) / self.fps + self.read_ahead_s + self.lookahead_s
            if self._received >= due * STREAM_RATE:  # enough speech for the next frames
                made += self._advance(final=False)
        return made

    def finish(self) -> list[MotionFrame]:
        """End of speech: the remaining frames (at least one in all, as offline, unless no speech came)."""
        if self._finished:
            return []
        self._finished = True
        return self._advance(final=True)

    # -- internals --------------------------------------------------------------------------

    @property
    def _f_end(self) -> int:
        return self._h0 + len(self._energy)

    def _features(self, final: bool) -> AudioFeatures:
        """Compute the 100 Hz features of the audio received so far.

        Frames 0.1 s or more before the newest sample are settled (their resampling filters have
        all their context) and kept in the history; the newer ones are returned too, provisionally,
        for this step only (they are computed again with more audio).

        Returns:
            the provisional frames after the history (empty when ``final``: all are settled).
        """
        from talkinghead.audio.features import compute_features

        total = math.ceil(self._received / _HOP - 1e-9)
        settled = total if final else max(0, (self._received - _FEATURE_CONTEXT * _HOP) // _HOP + 1)
        start = self._f_end
        if total <= start:
            return _empty_features()
        s0 = max(0, (start - _FEATURE_CONTEXT) * _HOP)
        part = compute_features(Speech(self._audio[s0 - self._a0:], STREAM_RATE))
        k = (start * _HOP - s0) // _HOP
        n = max(0, settled - start)
        self._mel = np.concatenate([self._mel, part.mel[k:k + n]])
        self._energy = np.concatenate([self._energy, part.energy[k:k + n]])
        self._f0 = np.concatenate([self._f0, part.f0[k:k + n]])
        self._formants = np.concatenate([self._formants, part.formants[k:k + n]])
        keep = max(0, (self._f_end - _FEATURE_CONTEXT) * _HOP)  # the audio the next stretch needs
        if keep > self._a0:
            self._audio, self._a0 = self._audio[keep - self._a0:], keep
        drop = len(self._energy) - int(HISTORY_S * FEATURE_RATE)
        if drop > 0:
            self._mel, self._energy = self._mel[drop:], self._energy[drop:]
            self._f0, self._formants = self._f0[drop:], self._formants[drop:]
            self._h0 += drop
        return part.slice(k + n)

    def _advance(self, final: bool) -> list[MotionFrame]:
        from talkinghead.audio.features import speech_activity
        from talkinghead.audio.vtln import warp_features
        from talkinghead.motion.head_pose import prosody_head_pose
        from talkinghead.motion.learned import dynamics_features, frame_index
        from talkinghead.motion.rules import num_video_frames

        new = self._features(final)
        f_end = self._f_end + new.num_frames  # settled + provisional
        if final:
            ready = num_video_frames(self._received / STREAM_RATE, self.fps)
        else:
            ready = int(math.floor((self.received_s - self.read_ahead_s - self.lookahead_s) * self.fps + 1e-9)) + 1
            ready = min(ready, num_video_frames(self.received_s, self.fps))  # never past what the speech covers
        if ready - self._next < (1 if final else self.step) or f_end == 0:
            return []
        first, n = self._next, ready - self._next
        feats = AudioFeatures(mel=np.concatenate([self._mel, new.mel]), energy=np.concatenate([self._energy, new.energy]),
                              f0=np.concatenate([self._f0, new.f0]), formants=np.concatenate([self._formants, new.formants]),
                              frame_rate=FEATURE_RATE)
        active = speech_activity(feats)
        # The network: CONTEXT_S before the new frames to the newest audio, normalised over the
        # history; every video frame in that stretch is asked for (its frame-rate layers need
        # the neighbours), the new ones kept.
        a0 = max(self._h0, int(first / self.fps * FEATURE_RATE) - int(CONTEXT_S * FEATURE_RATE))
        k = a0 - self._h0
        warped = warp_features(feats, self.model.vtln_factor(feats, active))
        content = self.model.content(warped.mel)[k:]
        dynamics = dynamics_features(warped.energy, warped.f0, warped.formants, active)[k:]
        tokens = np.zeros(len(content), np.int64)
        g0 = min(first, max(0, int(math.ceil((a0 / FEATURE_RATE - self.read_ahead_s) * self.fps - 1e-9))))
        g1 = max(ready, int(math.floor((f_end / FEATURE_RATE - self.read_ahead_s) * self.fps)) + 1)
        if final:
            g1 = ready
        index = frame_index(g1 - g0, self.fps, len(content), FEATURE_RATE, self.read_ahead_s, first=g0, audio_start=a0)
        blend, offsets = self.model.run(content, tokens, dynamics, index)
        blend, offsets = blend[first - g0:ready - g0], offsets[first - g0:ready - g0]
        # Head pose: the prosody rule over the history, frame 0 of which is the first video frame in it.
        p0 = max(self._w0, int(math.ceil(self._h0 / FEATURE_RATE * self.fps - 1e-9)))
        wander = np.concatenate([self._wander_past, self._wander.take(n)])
        self._wander_past, self._w0 = wander[p0 - self._w0:], p0
        h = int(round(p0 / self.fps * FEATURE_RATE)) - self._h0
        sub = feats.slice(h)
        pose = prosody_head_pose(sub, active[h:], self.fps, ready - p0, scale=self.config.pose_scale,
                                 wander=self._wander_past)[first - p0:]
        # Blinks: pause onsets heard so far that are not yet shown.
        t = (self._h0 + np.arange(1, len(active))) / FEATURE_RATE
        pauses = t[active[:-1] & ~active[1:]]
        blink = self._blinks.curve(first, n, pauses[pauses >= first / self.fps])
        au = np.clip(blend, 0.0, 1.0)
        self._next = ready
        return [MotionFrame(index=first + i, time_s=(first + i) / self.fps, offsets=offsets[i], pose=pose[i],
                            blink=float(blink[i]), au=au[i]) for i in range(n)]


def _empty_features() -> AudioFeatures:
    return AudioFeatures(mel=np.zeros((0, N_MELS), np.float32), energy=np.zeros(0, np.float32),
                         f0=np.zeros(0, np.float32), formants=np.zeros((0, 2), np.float32), frame_rate=FEATURE_RATE)


def motion_sequence(frames: list[MotionFrame], fps: float) -> MotionSequence:
    """The frames a stream made, as one :class:`~talkinghead.types.MotionSequence` (``source="learned-stream"``).

    Raises:
        ValueError: no frames, or frames not numbered 0, 1, 2, ... in order.
    """
    from talkinghead.motion.learned import BLENDSHAPE_NAMES

    if not frames or [f.index for f in frames] != list(range(len(frames))):
        raise ValueError("a motion sequence needs the stream's frames, all of them, in order")
    return MotionSequence(fps=fps, au_names=BLENDSHAPE_NAMES, au=np.stack([f.au for f in frames]),
                          landmark_offsets=np.stack([f.offsets for f in frames]),
                          head_pose=np.stack([f.pose for f in frames]).astype(np.float32),
                          blink=np.array([f.blink for f in frames], np.float32), source="learned-stream")
