"""Command line: ``talkinghead generate | dub | fit | live | demo | batch | serve | export | bench | eval | train``.

Heavy libraries are imported inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import typer

from talkinghead import __version__
from talkinghead.train.cli import train_app

#: When the command started (set when the CLI starts, after Python itself): the closing line reports the time since.
_START = [time.perf_counter()]

app = typer.Typer(
    help="Make a portrait speak: lip-synced talking-head video from one photo and speech, on a CPU, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: The shipped public-domain demo: NASA portrait of Eileen Collins, and J. F. Kennedy's 1961 inaugural address.
DEMO_TRANSCRIPT = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


def _assets() -> Path:
    from importlib import resources

    return Path(str(resources.files("talkinghead") / "assets"))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"talkinghead {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what each stage decides."),
) -> None:
    """talkinghead: portrait + speech -> talking-head mp4."""
    _START[0] = time.perf_counter()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("talkinghead").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _text_arg(value: Optional[str], what: str) -> Optional[str]:
    """A text option's value, or the content of FILE for ``@FILE`` (UTF-8); one-line errors."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        _fail(f"{path}: cannot read {what} ({e.strerror})")
    except UnicodeDecodeError:
        _fail(f"{path}: {what} is not a UTF-8 text file")
    return None


def _run_generate(portrait: Optional[Path], audio: Optional[Path], output: Path, transcript: Optional[str], size: int,
                  fps: float, pose_scale: float, still: bool, blink_rate: Optional[float], full_frame: bool, face: int, phones: str,
                  motion: str, seed: int, motion_out: Optional[Path], quiet: bool, text: Optional[str] = None,
                  voice: str = "auto", rate: float = 1.0, mouth: str = "real", person: Optional[Path] = None) -> None:
    started = None
    if text is None:
        # A recording: its analysis process starts before the imports below (about 0.15 s sooner; on a
        # short clip it is the longer of the two paths), warmed up for this transcript and phone mode.
        from talkinghead.analysis import start_analysis

        started = start_analysis(transcript, phones)
    try:
        from talkinghead.audio.tts import TTSConfig
        from talkinghead.pipeline import GenerateConfig, speak_or_play
        from talkinghead.types import InputError

        transcript = _text_arg(transcript, "transcript")
        text = _text_arg(text, "text")
        model = None
        if person is not None:
            from talkinghead.person.model import load_person

            try:
                model = load_person(person)
            except InputError as e:
                _fail(str(e))
            if audio is None and text is None:  # `generate --person P.thp SPEECH`: the one argument is the speech
                portrait, audio = None, portrait
        if blink_rate is None:
            blink_rate = float(min(model.blink_rate, 60.0)) if model is not None else 15.0
        config = GenerateConfig(size=size, fps=fps, pose_scale=0.0 if still else pose_scale, blink_rate=blink_rate,
                                full_frame=full_frame, face_index=face, phones=phones, motion=motion, seed=seed,
                                mouth=mouth)
        _make_video(lambda: speak_or_play(portrait, output, audio=audio, text=text, transcript=transcript,
                                          tts=TTSConfig(voice=voice, rate=rate), config=config, progress=not quiet,
                                          motion_out=motion_out, person=model, started=started), output, quiet,
                        "generation")
    finally:
        if started is not None:
            started.close()  # ended already where generate ran; here where anything failed before it


#: Set once a video command has written its file and said so: the process may end at once (:func:`run`).
_WRITTEN = [False]


def run() -> None:
    """The ``talkinghead`` command (and ``python -m talkinghead``): :data:`app`, then, once a video
    command (generate, demo, dub, live) has written its file, the process ends at once (``os._exit``)
    instead of tearing down every loaded module (MediaPipe, onnxruntime, OpenCV, PyAV: about 0.2 s of
    each run). By then its files are closed and renamed, its second processes ended and its output
    flushed; other commands, and every failure, exit the usual way.
    """
    try:
        app()
    except SystemExit as e:
        if e.code in (0, None) and _WRITTEN[0]:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise


def _make_video(job: Callable[[], object], output: Path, quiet: bool, what: str) -> None:
    """Run a job that writes the video ``output``: every failure is one line; then say what was written."""
    from talkinghead.types import InputError

    try:
        times = job()
    except InputError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; no output written")
    except Exception as e:  # a bug, not a user mistake: still one line (the traceback with -v)
        logging.getLogger("talkinghead").debug("traceback", exc_info=True)
        _fail(f"{output}: {what} failed ({type(e).__name__}: {e}); no output written. Run with -v for details.")
    from talkinghead.pipeline import STAGE_TIMES_ENV  # imported by the job already

    stage_times = os.environ.get(STAGE_TIMES_ENV)
    if stage_times and hasattr(times, "seconds"):
        Path(stage_times).write_text(json.dumps(times.seconds))
    if not quiet:
        try:
            typer.echo(_wrote_line(output), err=True)
        except InputError:  # the video is written; only its description failed
            typer.echo(f"wrote {output}", err=True)
    _WRITTEN[0] = True


def _wrote_line(output: Path) -> str:
    """The closing line of a generate run: the file, what it holds, and the time the command took."""
    from talkinghead.media.video import probe_video

    info = probe_video(output)
    return (f"wrote {output}: {info.duration_s:.1f} s of video, {info.width}x{info.height} at {info.fps:g} fps"
            f"{' with sound' if info.has_audio else ''}, in {time.perf_counter() - _START[0]:.1f} s")


@app.command()
def generate(
    portrait: Path = typer.Argument(..., help="Portrait image with a face (jpg, png, webp, bmp; photo, painting or cartoon)."),
    audio: Optional[Path] = typer.Argument(None, help="Speech: wav, flac, mp3, m4a, ogg, or a video whose audio track is used (or give --text)."),
    output: Path = typer.Option(Path("talkinghead.mp4"), "--output", "-o", help="mp4 to write (H.264 + AAC); written atomically."),
    text: Optional[str] = typer.Option(None, "--text", help="Words to speak instead of AUDIO, or @FILE: offline text to speech (extra 'tts': Piper), lips aligned to the words."),
    voice: str = typer.Option("auto", "--voice", help="Text-to-speech voice (with --text): joe (Piper, US English, natural), espeak:LANG[+VARIANT] (eSpeak NG, any of 100+ languages, e.g. espeak:de, espeak:ja, espeak:en-us+f2; exact phone timing), auto (joe if Piper is installed, else espeak:en-us)."),
    rate: float = typer.Option(1.0, "--rate", help="Speaking rate with --text: 1 = the voice's own pace, 0.5-2."),
    transcript: Optional[str] = typer.Option(None, "--transcript", "-t", help="The words spoken (English), or @FILE to read them: exact phone alignment, best lip-sync."),
    size: int = typer.Option(512, "--size", help="Side of the square face-centred output, in pixels (64-2048)."),
    fps: float = typer.Option(25.0, "--fps", help="Output frame rate (1-60)."),
    pose_scale: float = typer.Option(1.0, "--pose-scale", help="Head-motion amplitude: 0 still, 1 natural, up to 3."),
    still: bool = typer.Option(False, "--still", help="Keep the head still (same as --pose-scale 0); lips and blinks still move."),
    blink_rate: Optional[float] = typer.Option(None, "--blink-rate", help="Blinks per minute (0 = never); default 15, or the person's own with --person."),
    full_frame: bool = typer.Option(False, "--full-frame", help="Output the whole portrait (up to 1280 px), the head animated in place, instead of a face crop."),
    face: int = typer.Option(0, "--face", help="Which face to animate when there are several: 0 = largest, 1 = next..."),
    phones: str = typer.Option("auto", "--phones", help="How to find phones: auto (align --transcript if given, else recognise English speech; where recognition is unreliable the motion reads the audio alone), align, recognize, acoustic (no phones: any language, fastest)."),
    motion: str = typer.Option("auto", "--motion", help="Face-motion model: learned (trained on real faces, GRID corpus; reads the audio itself, any language, phones help), rules (visemes + coarticulation; acoustics without phones), or auto (learned; rules if its model is not installed)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for head motion and blink timing."),
    mouth: str = typer.Option("real", "--mouth", help="Inside of the open mouth: real (real mouths learned from footage, and the portrait's own teeth where it shows them) or painted (drawn teeth and tongue, for drawings)."),
    person: Optional[Path] = typer.Option(None, "--person", help="A person model from 'talkinghead fit' (.thp): their own mouth and, where fitted, their own motion; without PORTRAIT ('generate --person P.thp SPEECH') one of their own frames is animated."),
    motion_out: Optional[Path] = typer.Option(None, "--motion-out", help="Also save the motion: .npz (action units, landmark offsets, head pose, blinks), .csv (ARKit-52 blendshapes, Live Link Face CSV) or .json (ARKit curves)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Animate PORTRAIT speaking AUDIO (or --text) and write an mp4."""
    _run_generate(portrait, audio, output, transcript, size, fps, pose_scale, still, blink_rate, full_frame, face,
                  phones, motion, seed, motion_out, quiet, text=text, voice=voice, rate=rate, mouth=mouth, person=person)


@app.command("dub")
def dub_cmd(
    video: Path = typer.Argument(..., help="Video of someone talking (mp4, mov, mkv, webm...; phone videos with rotation are fine)."),
    audio: Path = typer.Argument(..., help="The new speech: wav, flac, mp3, m4a, ogg, or a video whose audio track is used."),
    output: Path = typer.Option(Path("dubbed.mp4"), "--output", "-o", help="mp4 to write, as long as the new speech, at the video's size; written atomically."),
    transcript: Optional[str] = typer.Option(None, "--transcript", "-t", help="The new speech's words (English), or @FILE: exact phone alignment."),
    phones: str = typer.Option("auto", "--phones", help="How to find phones, as for generate: auto, align, recognize, acoustic."),
    motion: str = typer.Option("auto", "--motion", help="Face-motion model, as for generate: learned, rules, auto."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the motion's own variation)."),
    person: Optional[Path] = typer.Option(None, "--person", help="A person model from 'talkinghead fit' (.thp): their mouths, instead of learning them from VIDEO alone, and, where fitted, their own motion."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Make the person in VIDEO say AUDIO: the video's own frames, head and background, new lips, jaw and cheeks.

    A shorter video plays forward then backward to cover the speech; its sound is replaced. The inside of the mouth is learned from the video's own frames. Frames without a face pass through unchanged.
    """
    from talkinghead.dubbing import dub
    from talkinghead.pipeline import GenerateConfig

    transcript = _text_arg(transcript, "transcript")

    def job() -> object:
        from talkinghead.person.model import load_person

        model = load_person(person) if person is not None else None
        return dub(video, audio, output, transcript=transcript, config=GenerateConfig(phones=phones, motion=motion, seed=seed),
            progress=not quiet, person=model)

    _make_video(job, output, quiet, "dubbing")


@app.command("fit")
def fit_cmd(
    videos: list[Path] = typer.Argument(..., help="One or more videos of the same person talking (1-5 minutes in all is plenty)."),
    output: Path = typer.Option(Path("person.thp"), "--output", "-o", help="The person model to write (.thp: safetensors + JSON)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    motion: bool = typer.Option(True, "--motion/--no-motion", help="Also fine-tune the learned motion model on their speech and tracked face (needs the 'train' extra: PyTorch and onnx; about 30-60 s on 2 cores). Skipped with a note when PyTorch is missing or the footage is too short."),
) -> None:
    """Fit a person model: their own mouths (median interiors by opening), head-pose spread, blink rate,
    and the learned motion model fine-tuned to how they move.

    Use it with 'generate --person' (their own frame, mouth and motion) and 'dub --person'.
    """

    from talkinghead.person.model import save_person
    from talkinghead.train.person import fit_with_motion
    from talkinghead.types import InputError

    if output.suffix.lower() != ".thp":
        _fail(f"{output}: a person model is a .thp file")
    try:
        person, record, notes = fit_with_motion(videos, progress=not quiet, motion=motion)
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        save_person(person, output)
    except InputError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; no output written")
    typer.echo(json.dumps({"wrote": str(output), "seconds": round(person.seconds, 1), "mouths": len(person.mouth_openings),
                           "blinks_per_min": round(person.blink_rate, 1),
                           "pose_std_deg": [round(float(x), 2) for x in person.pose_std],
                           "motion": record or "shipped model (not fine-tuned)"}))


@app.command("live")
def live_cmd(
    portrait: Path = typer.Argument(..., help="Portrait image with a face."),
    audio: Optional[str] = typer.Option(None, "--audio", "-a", help="Speech as it arrives: a file, played in real time (as a microphone would give it), or - for raw 16-bit little-endian mono PCM on standard input (see --rate)."),
    text: Optional[str] = typer.Option(None, "--text", help="Words to speak instead of --audio, or @FILE: synthesised offline (extra 'tts'), then played in real time."),
    voice: str = typer.Option("auto", "--voice", help="Text-to-speech voice with --text, as for generate: joe, espeak:LANG, auto."),
    output: Path = typer.Option(Path("live.mp4"), "--output", "-o", help="mp4 the frames are written to as they come (with the speech received); complete when the speech ends."),
    rate: int = typer.Option(16000, "--rate", help="Sample rate of the PCM on standard input (Hz)."),
    mjpeg: Optional[int] = typer.Option(None, "--mjpeg", help="Also show the frames live as an MJPEG stream at http://127.0.0.1:PORT/ (open it in a browser); 0 picks a free port."),
    lookahead: Optional[float] = typer.Option(None, "--lookahead", help="Seconds of speech each frame waits for past its own time (default 0.2): more follows the offline motion more closely, less answers sooner."),
    realtime: bool = typer.Option(True, "--realtime/--as-fast-as-possible", help="Play a file at its own pace (default), or make the frames as fast as possible (to test)."),
    size: int = typer.Option(512, "--size", help="Side of the square face-centred output, in pixels (64-2048)."),
    fps: float = typer.Option(25.0, "--fps", help="Output frame rate (1-60)."),
    pose_scale: float = typer.Option(1.0, "--pose-scale", help="Head-motion amplitude: 0 still, 1 natural, up to 3."),
    blink_rate: float = typer.Option(15.0, "--blink-rate", help="Blinks per minute (0 = never)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for head motion and blink timing."),
    stats: Optional[Path] = typer.Option(None, "--stats", help="Write the run's latency and dropped frames here (JSON)."),
    motion_out: Optional[Path] = typer.Option(None, "--motion-out", help="Also save the streamed motion (.npz)."),
    person: Optional[Path] = typer.Option(None, "--person", help="A person model from 'talkinghead fit' (.thp): their mouths, head-motion spread and, where fitted, their own motion (PORTRAIT should show them)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No running latency line, no summary."),
) -> None:
    """Animate PORTRAIT speaking speech as it arrives, in real time: each frame is made as soon as the speech
    reaches 0.2 s past it, and written at once (to an mp4 and, with --mjpeg, to a browser).

    Streaming reads the audio alone (no transcript, no recognition) with a fixed look-ahead; the closing line gives the frames' latency and how many were dropped for being late.
    """
    from talkinghead.audio.tts import TTSConfig
    from talkinghead.live import live, write_stats
    from talkinghead.pipeline import GenerateConfig

    config = GenerateConfig(size=size, fps=fps, pose_scale=pose_scale, blink_rate=blink_rate, seed=seed, motion="learned")
    text = _text_arg(text, "text")
    result: list = []

    def job() -> object:
        from talkinghead.person.model import load_person

        model = load_person(person) if person is not None else None
        result.append(live(portrait, audio, output, config=config, rate=rate, realtime=realtime, lookahead_s=lookahead,
                           mjpeg_port=mjpeg, motion_out=motion_out, progress=not quiet, text=text,
                           tts=TTSConfig(voice=voice), person=model))
        if stats is not None:
            write_stats(result[0], stats)
        return None

    _make_video(job, output, quiet, "live streaming")
    if not quiet and result:
        typer.echo(f"live: {result[0].line()}", err=True)


@app.command()
def demo(
    output: Path = typer.Option(Path("demo.mp4"), "--output", "-o", help="mp4 to write."),
    size: int = typer.Option(512, "--size", help="Side of the square output, in pixels."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Run on the built-in public-domain demo (NASA portrait, JFK's 1961 inaugural address)."""
    a = _assets()
    _run_generate(a / "astronaut.png", a / "jfk.flac", output, DEMO_TRANSCRIPT, size, 25.0, 1.0, False, 15.0, False,
                  0, "auto", "auto", 0, None, quiet)


@app.command("batch")
def batch_cmd(
    jobs: Path = typer.Argument(..., help="Jobs file: .csv with a header row, or .jsonl. Columns: portrait, audio or text, output, and any generate option (transcript, size, fps, pose_scale, blink_rate, full_frame, face_index, phones, motion, seed, motion_out, voice, rate). Relative paths are relative to the jobs file."),
    workers: int = typer.Option(2, "--workers", help="Videos made at once (worker processes)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results file (JSON lines: row, output, status, seconds, error); default JOBS.results.jsonl."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run the jobs on a Ray cluster instead of this machine: auto (the cluster this machine is in) or ray://HOST:PORT (extra 'ray'; paths must be valid there)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Make many videos from a jobs file; finished outputs are skipped (resumable), a bad row does not stop the rest."""
    from collections import Counter

    from talkinghead.batch import run_batch
    from talkinghead.types import InputError

    def report(r: object) -> None:
        if r.status in ("failed", "invalid"):  # type: ignore[attr-defined]
            typer.echo(f"row {r.row}: {r.status}: {r.error}", err=True)  # type: ignore[attr-defined]

    try:
        out = run_batch(jobs, results, workers, progress=not quiet, on_result=report, ray_address=ray)
    except InputError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; finished videos are kept, run the same command again to resume")
    counts = Counter(r.status for r in out)
    typer.echo(f"{len(out)} jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), err=True)
    if counts.get("failed") or counts.get("invalid"):
        raise typer.Exit(1)


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default serves this computer only; 0.0.0.0 opens it to the network (anyone who can reach it can use it)."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
) -> None:
    """A web page to make talking heads in the browser (needs the 'ui' extra: Gradio)."""
    try:
        import gradio  # noqa: F401
    except ImportError as e:
        _fail(f"the web page needs the 'ui' extra: pip install 'talkinghead[ui]' ({e})")
    from talkinghead.ui.app import serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: serving on {host}: anyone who can reach this address can use the page", err=True)
    try:
        serve(host, port)
    except OSError as e:
        _fail(f"cannot serve on {host}:{port} ({e.strerror or e}); is the port in use? Try --port")


@app.command("export")
def export_cmd(
    motion: Path = typer.Argument(..., help="A motion file written by --motion-out (.npz)."),
    out: Path = typer.Option(..., "--output", "-o", help="face.csv (Live Link Face CSV: Unreal, Blender shape keys by name) or face.json (ARKit-52 curves)."),
) -> None:
    """Export a motion file as ARKit-52 blendshape curves for 3D avatars (Live Link Face CSV or JSON)."""
    from talkinghead.export import export_motion
    from talkinghead.media.video import ensure_distinct
    from talkinghead.types import InputError, MotionSequence

    try:
        ensure_distinct(out, motion)
        if not motion.is_file():
            raise InputError(f"{motion}: motion file not found")
        try:
            seq = MotionSequence.load(motion)
        except Exception as e:  # numpy's loaders raise many types (zip, pickle, value, key errors) for a foreign file
            raise InputError(f"{motion}: not a talkinghead motion file ({type(e).__name__})") from e
        export_motion(seq, out)
    except InputError as e:
        _fail(str(e))
    typer.echo(f"wrote {out}: {seq.num_frames} frames at {seq.fps:g} fps, 52 ARKit blendshapes + head pose", err=True)


@app.command()
def bench(
    audio: list[Path] = typer.Option(None, "--audio", help="Speech files to time (default: the demo clip; add e.g. a 60 s clip)."),
    sizes: str = typer.Option("256,512", "--sizes", help="Comma-separated output sizes."),
    phones: str = typer.Option("auto", "--phones", help="Phone mode (see generate --phones)."),
    long: str = typer.Option("", "--long", help="Comma-separated extra durations in seconds (e.g. 600,3600) made by repeating the first audio: shows cost is linear and memory flat."),
    out: Path = typer.Option(Path("reports/bench"), "--out", help="Folder for speed.json and speed.md."),
) -> None:
    """Time 'talkinghead generate' as a user does (whole process: wall, CPU, peak memory) and per stage.

    Also times a 1 s cut of the first audio and '--help'. The fixed cost of a run (the 1 s clip's
    time minus its length at the marginal RTF) needs a longer clip without a transcript beside it
    at the same size: add one with --audio (the demo has its transcript) or --long.
    """
    import shlex
    import tempfile

    from talkinghead.eval.speed import cut_audio, help_seconds, make_long_audio, run_case, write_reports

    a = _assets()
    portrait = str(a / "astronaut.png")
    files = [str(p) for p in (audio or [a / "jfk.flac"])]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        files.append(cut_audio(files[0], 1.0, tmp))
        for seconds in [float(s) for s in long.split(",") if s.strip()]:
            files.append(make_long_audio(files[0], seconds, tmp))
        cases = [(f, int(s)) for f in files for s in sizes.split(",") if s.strip()]
        from tqdm import tqdm

        for f, s in tqdm(cases, desc="bench", unit="case"):
            transcript = DEMO_TRANSCRIPT if Path(f).name == "jfk.flac" else None
            try:
                r = run_case(portrait, f, s, phones, transcript)
            except RuntimeError as e:
                _fail(f"{f}: {e}")
            results.append(r)
            typer.echo(f"{r.audio} {r.size}px: {r.wall_s:.1f} s, RTF {r.rtf:.3f}, {r.cpu_s / r.wall_s:.2f} cores, "
                       f"peak {r.peak_rss_mb:.0f} MiB", err=True)
    _, md = write_reports(results, out, "talkinghead bench " + " ".join(shlex.quote(x) for x in sys.argv[2:]),
                          help_s=help_seconds())
    typer.echo(md.read_text())


def _names(value: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split(",") if n.strip())


@app.command("eval")
def eval_(
    quick: bool = typer.Option(False, "--quick", help="A few clips per set (3 GRID test, 1 unseen speaker, 2 noisy GRID per SNR, 2 real videos, 2 pairs): minutes."),
    sets: str = typer.Option("grid_test,grid_others,grid_babble10,grid_babble0,videos,cross,dub_cross", "--sets", help="Comma-separated sets: grid_test, grid_validation, grid_others (38 clips of unseen GRID speakers), grid_babble10 and grid_babble0 (GRID test with babble at 10 and 0 dB SNR), grid_person (12 clips of s4 and s31 against their person models fitted on their other clips; systems auto-notext, learned-nophones, person), videos, cross (portrait + speech pairs, no ground truth), dub_cross (GRID test clip A's video dubbed with clip B's speech, against real clip B)."),
    systems: str = typer.Option("still,loudness,rules,learned,auto-notext,learned-nophones,rules-nophones,learned-painted,dub", "--systems", help="Comma-separated systems: still, loudness, rules and learned (given the transcript where a clip has one), auto-notext (the defaults, no transcript: what a user with only a recording gets), learned-nophones and rules-nophones (no phones at all), learned-painted (learned, with the painted mouth interior instead of real mouths), learned-stream (live streaming: the speech fed in 20 ms chunks, no phones, a fixed look-ahead), dub (the clip's own video re-animated to its speech: self-reconstruction), person (grid_person only: the speaker's person model from 'fit', no transcript), oracle (the real frames: the upper bound)."),
    out: Path = typer.Option(Path("reports/eval"), "--out", "-o", help="Folder for report.json, report.md and the plots."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N clips per set."),
    data: Optional[Path] = typer.Option(None, "--data", help="Shared data folder (default: $TALKINGHEAD_DATA, else shared/data here or in a parent folder)."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Write report.json and report.md only."),
    seed: int = typer.Option(0, "--seed", help="Random seed for the pipeline's head motion and blinks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Self-reenactment benchmark: regenerate real clips from their first frame and audio, score against the real frames."""
    from talkinghead.eval.benchmark import run_benchmark
    from talkinghead.eval.reference import EvalConfig
    from talkinghead.eval.datasets import default_data_root
    from talkinghead.eval.report import write_report
    from talkinghead.types import InputError

    root = data if data is not None else default_data_root()
    if root is None or not (root / "MANIFEST.md").is_file():
        _fail(f"{root or 'shared/data'}: evaluation data not found (give --data or set $TALKINGHEAD_DATA)")
    config = EvalConfig(sets=_names(sets), systems=_names(systems), quick=quick, limit=limit, seed=seed)
    try:
        result = run_benchmark(root, config, progress=not quiet)
        report = write_report(result, out, plots=not no_plots)
    except InputError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; no report written")
    if not quiet:
        typer.echo((out / "report.md").read_text(encoding="utf-8").split("\n## Plots")[0].split("\n## Per clip")[0], err=True)
        typer.echo(f"wrote {out / 'report.json'}, {out / 'report.md'} ({len(report['clips'])} rows, {result.elapsed_s:.0f} s)", err=True)


app.add_typer(train_app, name="train")


if __name__ == "__main__":  # pragma: no cover
    run()
