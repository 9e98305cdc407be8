"""TalkingHeadPipeline: portrait + speech -> motion -> frames -> mp4, streaming.

Thin glue over the stages (DESIGN.md): ``media`` decodes, ``audio`` analyses, ``face`` finds and
neutralises the face, ``motion`` makes a MotionSequence (never sees pixels), ``render`` makes
frames (never hears audio), ``media`` encodes them as they come, so memory does not grow with
the number of frames.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from talkinghead.types import FaceMesh, InputError, MotionSequence, PersonModel, PhoneSegments, Speech

# The audio stage lives in talkinghead.analysis, the output checks in talkinghead.media.files,
# the choice of motion model in talkinghead.motion.make; these names stay importable from here.
from talkinghead.analysis import Analysis, analyse_speech, analysis_aside, length_only, start_analysis  # noqa: F401
from talkinghead.media.files import check_output, check_writable  # noqa: F401
from talkinghead.motion.make import load_motion_model, make_motion, make_motion_pieces
from talkinghead.stages import STAGE_TIMES_ENV, StageTimes, frame_motion, progress_bar, times_merge  # noqa: F401

if TYPE_CHECKING:
    from talkinghead.aside import Aside
    from talkinghead.audio.tts import TTSConfig
    from talkinghead.motion.rules import MotionConfig
    from talkinghead.motion.streaming import MotionFrame
    from talkinghead.media.audio import AudioTrack

log = logging.getLogger("talkinghead")

#: How phones are obtained: from a transcript, by recognition, or not at all (the audio alone drives the motion).
PHONE_MODES = ("auto", "align", "recognize", "acoustic")
#: Which model turns audio into face motion: the learned one where its weights are installed, or the rules.
MOTION_MODES = ("auto", "learned", "rules")


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that shapes one generated video.

    Attributes:
        size: side of the square face crop in pixels (even, 64..2048); ignored with ``full_frame``.
        fps: output frame rate (Hz, 1..60).
        pose_scale: head-motion amplitude (0 = still head, 1 = natural, up to 3).
        blink_rate: blinks per minute (0 = never).
        full_frame: composite the animated head back into the whole portrait instead of cropping.
        face_index: which face to animate when there are several (0 = largest).
        phones: ``auto`` (align a transcript if given, else recognise English and fall back to
            no phones when recognition is unreliable: the motion model then reads the audio alone),
            ``align``, ``recognize`` or ``acoustic`` (no phones, no recognition: fastest).
        motion: face-motion model: ``learned`` (trained on GRID, see README; reads the audio itself,
            phones help where there are some), ``rules`` (visemes and coarticulation, or acoustics
            without phones), or ``auto`` (learned when its model is installed, else rules).
        seed: random seed for head wander and blink timing.
        mouth: inside of the open mouth: ``real`` (real mouths from footage, plus the portrait's
            own teeth where it shows them) or ``painted`` (drawn teeth, for drawings).
    """

    size: int = 512
    fps: float = 25.0
    pose_scale: float = 1.0
    blink_rate: float = 15.0
    full_frame: bool = False
    face_index: int = 0
    phones: str = "auto"
    motion: str = "auto"
    seed: int = 0
    mouth: str = "real"

    def motion_config(self, pose_scale: float | None = None) -> MotionConfig:
        """The motion stage's settings (:class:`~talkinghead.motion.rules.MotionConfig`): frame rate,
        head-motion scale (``pose_scale`` instead of this config's, where given), blink rate, seed."""
        from talkinghead.motion.rules import MotionConfig

        return MotionConfig(fps=self.fps, pose_scale=self.pose_scale if pose_scale is None else pose_scale,
                            blink_rate=self.blink_rate, seed=self.seed)

    def validate(self) -> None:
        """Raise InputError for out-of-range settings."""
        if not (64 <= self.size <= 2048) or self.size % 2:
            raise InputError(f"--size must be an even number of pixels from 64 to 2048, got {self.size}")
        if not (1 <= self.fps <= 60):
            raise InputError(f"--fps must be between 1 and 60, got {self.fps}")
        if not (0 <= self.pose_scale <= 3):
            raise InputError(f"--pose-scale must be between 0 and 3, got {self.pose_scale}")
        if not (0 <= self.blink_rate <= 60):
            raise InputError(f"--blink-rate must be between 0 and 60 per minute, got {self.blink_rate}")
        if self.phones not in PHONE_MODES:
            raise InputError(f"--phones must be one of {', '.join(PHONE_MODES)}, got {self.phones!r}")
        if self.motion not in MOTION_MODES:
            raise InputError(f"--motion must be one of {', '.join(MOTION_MODES)}, got {self.motion!r}")
        if self.face_index < 0:
            raise InputError(f"--face must be >= 0, got {self.face_index}")
        from talkinghead.render.renderer import MOUTH_STYLES

        if self.mouth not in MOUTH_STYLES:
            raise InputError(f"--mouth must be one of {', '.join(MOUTH_STYLES)}, got {self.mouth!r}")




class TalkingHeadPipeline:
    """Portrait -> talking-head video.

    Prepare once per portrait (face detection, neutralisation, renderer set-up), then call
    :meth:`motion` and :meth:`frames` per speech, or :meth:`generate` for the whole job.

    Args:
        image: uint8 ``[H, W, 3]`` RGB portrait.
        config: generation settings.
        source: the portrait's file name, for error messages.
        person: a person model (``talkinghead fit``): their own mouths are drawn.
    Raises:
        InputError: no face found, or bad settings.
    """

    def __init__(self, image: np.ndarray, config: GenerateConfig = GenerateConfig(), source: str = "portrait",
                 person: PersonModel | None = None) -> None:
        from talkinghead.face.landmarks import find_face
        from talkinghead.face.neutral import neutralize
        from talkinghead.render.renderer import RenderConfig, Renderer

        config.validate()
        self.config = config
        self.times = StageTimes()
        t = time.perf_counter()
        self.face: FaceMesh = find_face(image, face_index=config.face_index, source=source)
        self.neutral = neutralize(self.face)
        self.times.add("face", time.perf_counter() - t)
        t = time.perf_counter()
        bank = None
        self.person = person
        self.motion_model = None  # the shipped learned model, unless the person carries their own
        if person is not None:
            from talkinghead.person.model import person_bank, person_motion

            bank = person_bank(person)
            self.motion_model = person_motion(person)
        self.renderer = Renderer(image, self.face, self.neutral,
                                 RenderConfig(size=config.size, full_frame=config.full_frame, mouth=config.mouth), bank=bank)
        self.times.add("render_setup", time.perf_counter() - t)

    def motion(self, analysis: Analysis) -> MotionSequence:
        """The MotionSequence for analysed speech, by the configured motion model (:func:`make_motion`).

        With a person model, the head turns as much as theirs does: the pose angles are scaled so
        their mean standard deviation is the person's (times ``pose_scale``).
        """
        seq = make_motion(analysis, self.config, self.times, self.motion_model)
        if self.person is not None and self.config.pose_scale > 0:
            own = float(np.mean(np.std(seq.head_pose[:, :3], axis=0)))
            want = float(np.mean(self.person.pose_std)) * self.config.pose_scale
            if own > 1e-6 and want > 0:
                pose = seq.head_pose.copy()
                pose[:, :3] *= float(np.clip(want / own, 0.0, 3.0))
                seq = replace(seq, head_pose=pose)
        return seq

    def motion_pieces(self, analysis: Analysis) -> Iterator[MotionSequence]:
        """:meth:`motion` in consecutive pieces, each made when it is asked for (:func:`make_motion_pieces`);
        with a person model one piece, :meth:`motion`'s (their pose scaling needs the whole motion)."""
        if self.person is not None:
            yield self.motion(analysis)
            return
        yield from make_motion_pieces(analysis, self.config, self.times)

    def frames(self, motion: MotionSequence | Iterable[MotionSequence]) -> Iterator[np.ndarray]:
        """Rendered frames, one at a time (uint8 ``[H, W, 3]`` RGB), of a motion or of its consecutive pieces
        (rendering timed as ``render``)."""
        for offsets, pose, blink in frame_motion(motion):
            yield self._render(offsets, pose, blink)

    def _render(self, offsets: np.ndarray, pose: np.ndarray, blink: float) -> np.ndarray:
        """One frame (:meth:`Renderer.render <talkinghead.render.renderer.Renderer.render>`), timed as ``render``."""
        t = time.perf_counter()
        frame = self.renderer.render(offsets, pose, blink)
        self.times.add("render", time.perf_counter() - t)
        return frame

    def stream(self, chunks: Iterable[np.ndarray], lookahead_s: float | None = None,
               motion: list[MotionFrame] | None = None,
               late: Callable[[float], bool] | None = None) -> Iterator[tuple[float, np.ndarray | None]]:
        """Frames as speech arrives: live streaming (:class:`~talkinghead.motion.streaming.StreamingMotion`).

        Each chunk of speech may complete some frames; they are rendered and yielded at once, in
        order, at the video rate's timestamps. No phones (the learned model reads the audio
        alone) and a fixed look-ahead; the frames cover the speech as :meth:`frames` would.

        Args:
            chunks: float mono speech at 16 kHz (:data:`~talkinghead.motion.streaming.STREAM_RATE`),
                pieces of any length (for example 20 ms from a microphone or a TTS engine).
            lookahead_s: speech a frame waits for past its time (default
                :data:`~talkinghead.motion.streaming.LOOKAHEAD_S`).
            motion: if given, each frame's :class:`MotionFrame` is appended to it (to save the motion).
            late: called with each frame's time before it is rendered; where it says True (a live
                caller that has fallen behind) the frame is not rendered and ``None`` is yielded.
        Yields:
            ``(time_s, frame)``: the frame's time from the start of the speech and uint8 ``[H, W, 3]`` RGB
            (None for a frame skipped by ``late``).
        Raises:
            InputError: the learned model is not installed.
        """
        from talkinghead.motion.learned import LearnedMotion, learned_available
        from talkinghead.motion.streaming import LOOKAHEAD_S, StreamingMotion

        if not learned_available():
            raise InputError("streaming needs the learned motion model (assets/learned_motion.onnx and onnxruntime)")
        c = self.config
        pose_scale = c.pose_scale
        if self.person is not None and pose_scale > 0:  # their own head-motion spread (as :meth:`motion`)
            from talkinghead.motion.head_pose import WANDER_STD_DEG

            pose_scale *= float(np.clip(np.mean(self.person.pose_std) / np.mean(WANDER_STD_DEG), 0.0, 3.0))
        source = StreamingMotion(self.motion_model or LearnedMotion.from_file(), c.motion_config(pose_scale),
                                 lookahead_s=LOOKAHEAD_S if lookahead_s is None else lookahead_s)
        source.warm_up()  # before the first chunk is asked for: a live source starts its clock then

        def made(frames: list[MotionFrame]) -> Iterator[tuple[float, np.ndarray | None]]:
            for f in frames:
                if motion is not None:
                    motion.append(f)
                if late is not None and late(f.time_s):
                    yield f.time_s, None
                    continue
                yield f.time_s, self._render(f.offsets, f.pose, f.blink)

        for chunk in chunks:
            t = time.perf_counter()
            ready = source.push(chunk)
            self.times.add("motion", time.perf_counter() - t)
            yield from made(ready)
        yield from made(source.finish())

    def write(self, motion: MotionSequence | Iterable[MotionSequence], sound: Speech | AudioTrack,
              output: str | os.PathLike[str], progress: Callable[[int], None] | None = None,
              render_processes: int = 0) -> None:
        """Render and encode ``motion`` (or its consecutive pieces) into an mp4 at ``output``, atomically,
        with ``sound`` as its audio.

        ``sound`` is the speech as analysed (16 kHz mono) or, better, the input file's own sound
        (:class:`~talkinghead.media.audio.AudioTrack`: its sample rate and channels, streamed).
        ``render_processes``: where 1 or more (and :func:`~talkinghead.render.workers.render_workers_available`),
        the frames are rendered in that many forked processes
        (:class:`~talkinghead.render.workers.RenderWorkers`: the same frames) while this one encodes.
        """
        from talkinghead.media.encode import write_video
        from talkinghead.render.workers import RenderWorkers, render_workers_available

        if isinstance(motion, MotionSequence):
            fps = motion.fps
        else:  # the first piece says the rate (made here: pieces are made as they are asked for)
            pieces = iter(motion)
            first = next(pieces, None)
            if first is None:
                raise ValueError("no motion to write")
            fps, motion = first.fps, itertools.chain([first], pieces)
        with contextlib.ExitStack() as stack:
            workers = None
            if render_processes > 0 and render_workers_available():
                try:
                    workers = stack.enter_context(RenderWorkers(self.renderer, render_processes))
                except OSError as e:  # no process to be had: rendered here
                    log.warning("rendering in this process (no worker process: %s)", e)
            if workers is not None:
                # The wait for each frame is timed as render; the motion pieces made between frames, as motion
                frames = workers.frames(frame_motion(motion, self.times))
                timer = self.times.add
            else:
                # frames() times the rendering itself; the motion pieces made between frames are timed as motion
                frames = self.frames(motion)
                timer = lambda stage, seconds: None if stage == "render" else self.times.add(stage, seconds)  # noqa: E731
            write_video(frames, fps, self.renderer.output_size, sound, output, timer, progress)


def generate(
    portrait: str | os.PathLike[str] | None,
    audio: str | os.PathLike[str],
    output: str | os.PathLike[str],
    transcript: str | None = None,
    config: GenerateConfig = GenerateConfig(),
    progress: bool = False,
    motion_out: str | os.PathLike[str] | None = None,
    phones: PhoneSegments | None = None,
    person: PersonModel | None = None,
    processes: int = 2,
    started: Aside | None = None,
) -> StageTimes:
    """Make a talking-head mp4 from a portrait and speech.

    Args:
        portrait: image file (jpg/png/webp/bmp...) with a face.
        audio: speech file (wav/flac/mp3/m4a/ogg, or a video whose audio track is used).
        output: mp4 path to write (H.264 + AAC); written to a temporary file, then renamed.
        transcript: the words spoken (English), for exact phone alignment. Speech over
            :data:`~talkinghead.long_speech.LONG_SPEECH_S` is made in segments of about two minutes,
            cross-faded at quiet moments (:mod:`talkinghead.long_speech`): rendering's memory stays flat.
            With a transcript the whole speech is aligned first, in windows and chunks (its process holds
            the speech's 16-bit samples: 115 MB an hour), and each segment is given its phones.
        config: settings (size, fps, head motion, blinks...).
        progress: show a progress bar on stderr.
        motion_out: also save the motion here: ``.npz`` (the whole MotionSequence), ``.csv`` (ARKit
            blendshapes as a Live Link Face CSV) or ``.json`` (ARKit curves); see :mod:`talkinghead.export`.
        phones: the speech's phones when they are known exactly (a text-to-speech engine's timing):
            used as they are, no alignment or recognition.
        person: a person model: their mouths are drawn; ``portrait`` None animates their own frame.
        processes: processes the job may use (2: the speech is analysed in a second process while
            the face is set up, which shares the chunks of recognition or of the alignment of long speech
            with copies of itself, and the frames are rendered by forked processes; 1: all in this process,
            for a worker of a pool that already fills every core).
        started: the analysis process, already started by the caller with :func:`start_analysis` (this
            ``transcript``, ``config.phones`` and ``phones``), used instead of starting one here and ended
            here like it (the CLI starts it before its own imports: about 0.15 s sooner on a short clip).
    Returns:
        Per-stage wall-clock seconds.
    Raises:
        InputError: unreadable or bad input, no face, silent audio, unwritable output.
    """
    from talkinghead.media.audio import AudioTrack, load_speech
    from talkinghead.media.image import load_image
    from talkinghead.media.video import ensure_distinct
    from talkinghead.render.workers import render_processes

    with contextlib.ExitStack() as stack:
        # The speech is analysed in a second process (which shares recognition's chunks with
        # copies of itself), started first so that its imports and decoder load overlap all the work here
        # until the speech is loaded (a bad setting found below ends it again at once).
        if started is None and processes > 1:
            started = start_analysis(transcript, config.phones, phones)
        if started is not None:
            stack.enter_context(started)
        config.validate()
        if portrait is None and person is None:
            raise InputError("give a portrait (or a person model)")
        output = check_output(output, portrait, audio)
        if motion_out is not None:
            motion_out = Path(motion_out)
            if motion_out.suffix.lower() not in (".npz", ".csv", ".json"):
                raise InputError(f"{motion_out}: --motion-out must be an .npz, .csv (Live Link Face) or .json file")
            ensure_distinct(motion_out, portrait, audio, output)
            check_writable(motion_out)
        times = StageTimes()
        t = time.perf_counter()
        image = load_image(portrait) if portrait is not None else person.portrait  # type: ignore[union-attr]
        from talkinghead.long_speech import SpeechSegments

        # Read as a stream: speech over LONG_SPEECH_S is made in segments.
        segments = stack.enter_context(SpeechSegments(audio, config.fps))
        speech = segments.whole()
        times.add("load", time.perf_counter() - t)
        from talkinghead.motion.rules import num_video_frames

        # One bar over the whole job; the face is found and the renderer set up during the analysis.
        if speech is not None:
            n_frames = num_video_frames(speech.duration_s, config.fps)
        else:  # long: as its header says, if it says
            stated = segments.reader.stated_s
            n_frames = num_video_frames(stated, config.fps) if stated > 0 else None
        bar = stack.enter_context(progress_bar(progress, n_frames, "analysing speech"))
        source = str(portrait or f"person model {person.name}")  # type: ignore[union-attr]
        if speech is None:  # over LONG_SPEECH_S: analysed, moved and rendered a segment at a time
            from talkinghead.long_speech import aligned_whole, make_long

            if phones is None and transcript is not None and config.phones in ("auto", "align"):
                # The transcript is aligned to the whole speech first; each segment gets its part of the phones.
                if bar is not None:
                    bar.set_description_str("aligning the transcript")
                phones = aligned_whole(audio, transcript, processes, times)
                if bar is not None:
                    bar.set_description_str("analysing speech")
            done, seq = make_long(segments, image, audio, output, config, bar, source, times,
                                  person=person, processes=processes, started=started,
                                  keep_motion=motion_out is not None, phones=phones)
            return _save_motion(seq, motion_out, done)
        if started is not None:
            # Sent to the analysis and let go here (an hour is 230 MB); its fallback loads the file again.
            analysed = stack.enter_context(analysis_aside(speech, transcript, config.phones, known=phones,
                                                          processes=processes, started=started,
                                                          reload=partial(load_speech, audio)))
            del speech
        else:
            from talkinghead.audio.phones import pcm16_speech

            # What the analysis reads (half the memory; the float32 samples are let go now).
            analysed = partial(analyse_speech, pcm16_speech(speech), transcript, config.phones, known=phones,
                               processes=1)
            del speech  # held by the call until it is made
        pipe = TalkingHeadPipeline(image, config, source=source, person=person)
        pipe.times = times_merge(times, pipe.times)
        if started is not None:  # while the analysis runs (an ONNX session, scipy): off the critical path
            t = time.perf_counter()
            load_motion_model(config)
            pipe.times.add("motion", time.perf_counter() - t)
        analysis = analysed(pipe.times)
        # Past the analysis the samples are not needed (the video's sound streams from the file):
        # keep their length only, so long speech is not held while it is rendered (230 MB an hour).
        analysis = replace(analysis, speech=length_only(analysis.speech))
        del analysed
        # Long speech is made and rendered a window at a time (memory does not grow with its
        # motion); the whole motion is kept only when it is to be saved.
        pieces = pipe.motion_pieces(analysis)
        if motion_out is not None:
            seq = MotionSequence.concatenate(list(pieces))
            pieces = iter([seq])
        if bar is not None:
            bar.set_description_str("rendering")
        # The output plays the input's own sound (its rate and channels), not the 16 kHz analysis copy.
        with AudioTrack(audio) as sound:
            pipe.write(pieces, sound, output, progress=bar.update if bar is not None else None,
                       render_processes=render_processes(processes, n_frames))
    return _save_motion(seq if motion_out is not None else None, motion_out, pipe.times)


def _save_motion(seq: MotionSequence | None, motion_out: Path | None, times: StageTimes) -> StageTimes:
    """Write ``--motion-out`` (only once the video exists: a failed run leaves nothing); gives back ``times``."""
    if motion_out is not None and seq is not None:
        from talkinghead.export import export_motion

        export_motion(seq, motion_out)
    return times


def generate_from_text(
    portrait: str | os.PathLike[str] | None,
    text: str,
    output: str | os.PathLike[str],
    tts: TTSConfig | None = None,
    config: GenerateConfig = GenerateConfig(),
    progress: bool = False,
    motion_out: str | os.PathLike[str] | None = None,
    person: PersonModel | None = None,
    processes: int = 2,
) -> StageTimes:
    """Make a talking-head mp4 of the portrait saying ``text`` (offline text to speech, extra ``tts``).

    The speech is synthesised (:func:`talkinghead.audio.tts.synthesize`) into a temporary wav;
    its phones are the engine's own timing where it reports them (eSpeak NG), else forced
    alignment of the text (Piper); then as :func:`generate`.

    Raises:
        InputError: as :func:`generate`, and empty text, unknown voice, or no TTS engine installed.
    """
    import tempfile

    from talkinghead.audio.tts import TTSConfig, synthesize
    from talkinghead.media.audio import write_wav

    with tempfile.TemporaryDirectory(prefix="talkinghead-tts-") as tmp:
        speech, phones = synthesize(text, tts or TTSConfig())
        wav = write_wav(speech, Path(tmp) / "speech.wav")
        return generate(portrait, wav, output, transcript=text, config=config, progress=progress,
                        motion_out=motion_out, phones=phones, person=person, processes=processes)


def speak_or_play(
    portrait: str | os.PathLike[str] | None,
    output: str | os.PathLike[str],
    audio: str | os.PathLike[str] | None = None,
    text: str | None = None,
    transcript: str | None = None,
    tts: TTSConfig | None = None,
    config: GenerateConfig = GenerateConfig(),
    progress: bool = False,
    motion_out: str | os.PathLike[str] | None = None,
    person: PersonModel | None = None,
    processes: int = 2,
    started: Aside | None = None,
) -> StageTimes:
    """The one entry for a job given a recording *or* words to speak (CLI, batch and web page).

    Exactly one of ``audio`` (then :func:`generate`, with ``transcript`` if known) and ``text``
    (then :func:`generate_from_text`; the text is what is said, so no transcript). With a
    ``person`` model, ``portrait`` may be None (their own frame is animated). ``processes`` and
    ``started`` (a recording's analysis process, already started): see :func:`generate`; ``started``
    is ended unused where the job is not :func:`generate`'s.

    Raises:
        InputError: both or neither of ``audio`` and ``text``, a transcript with text, and
            everything :func:`generate` / :func:`generate_from_text` raise.
    """
    text = text if text is None or text.strip() else None
    if started is not None and (audio is None or text is not None):
        started.close()  # not a recording's job (or a bad one): the early analysis process is not needed
        started = None
    if audio is not None and text is not None:
        raise InputError("give a recording or text to speak, not both")
    if audio is None and text is None:
        raise InputError("nothing to say: give a recording or text to speak")
    if text is not None:
        if transcript:
            raise InputError("a transcript is not used with text to speak: the text is what is said")
        return generate_from_text(portrait, text, output, tts, config=config, progress=progress, motion_out=motion_out,
                                  person=person, processes=processes)
    return generate(portrait, audio, output, transcript=transcript, config=config, progress=progress,  # type: ignore[arg-type]
                    motion_out=motion_out, person=person, processes=processes, started=started)
