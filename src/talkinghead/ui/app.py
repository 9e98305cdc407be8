"""The web page: ``talkinghead serve`` (Gradio, extra ``ui``).

Portrait (upload, webcam or the demo example), speech (upload, microphone, or text to speak
with the extra ``tts``), the main options, a progress bar, the video playing in the page and
its downloads (mp4, motion ``.npz``, ARKit Live Link Face ``.csv``). One job runs at a time
(a queue); uploads are limited in size and type; each job's files live in a temporary folder
that is removed when the next job of that browser session starts or the server stops, and
Gradio's own upload cache is cleared hourly. A bad upload shows a one-line error in the page.

Gradio is imported inside :func:`build_app` (importing this module is cheap).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from talkinghead.types import InputError

#: Largest upload accepted (Gradio's ``max_file_size``).
MAX_UPLOAD = "200mb"
#: Upload types accepted, by suffix.
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
AUDIO_TYPES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".aac", ".mp4", ".mov", ".mkv", ".webm")
SIZES = (256, 384, 512)


def _check_type(path: str | None, allowed: tuple[str, ...], what: str) -> Path:
    if not path:
        raise InputError(f"no {what} given")
    p = Path(path)
    if p.suffix.lower() not in allowed:
        raise InputError(f"{p.name}: not a {what} file (accepted: {', '.join(allowed)})")
    return p


def make_video(portrait: str | None, audio: str | None, text: str, transcript: str, size: int, still: bool,
               motion: str, workdir: Path, progress: Any = None) -> tuple[Path, Path, Path]:
    """One job of the page: the mp4, its motion file and the ARKit CSV, written into ``workdir``.

    Raises:
        InputError: missing or wrong-type uploads, both or neither of audio and text, or any
            generation problem (no face, silent audio...).
    """
    from talkinghead.export import export_motion
    from talkinghead.pipeline import GenerateConfig, speak_or_play
    from talkinghead.types import MotionSequence

    image = _check_type(portrait, IMAGE_TYPES, "portrait image")
    speech = _check_type(audio, AUDIO_TYPES, "speech audio") if audio else None
    config = GenerateConfig(size=int(size), pose_scale=0.0 if still else 1.0, motion=motion)
    out, npz, csv = workdir / "talkinghead.mp4", workdir / "motion.npz", workdir / "face_arkit.csv"
    if progress is not None:
        progress(0.1, desc="making the video")
    speak_or_play(image, out, audio=speech, text=text or None, transcript=(transcript or "").strip() or None,
                  config=config, motion_out=npz)
    export_motion(MotionSequence.load(npz), csv)
    if progress is not None:
        progress(1.0, desc="done")
    return out, npz, csv


def build_app() -> Any:
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    from talkinghead.cli import _assets

    assets = _assets()
    jobs_root = Path(tempfile.mkdtemp(prefix="talkinghead-serve-"))
    atexit.register(shutil.rmtree, jobs_root, ignore_errors=True)

    def run(portrait: str | None, audio: str | None, text: str, transcript: str, size: int, still: bool, motion: str,
            workdir: str | None, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008 (Gradio's idiom)
        if workdir:  # this session's previous job: its files are no longer needed
            shutil.rmtree(workdir, ignore_errors=True)
        work = Path(tempfile.mkdtemp(dir=jobs_root))
        try:
            out, npz, csv = make_video(portrait, audio, text, transcript, size or 512, still, motion or "auto", work,
                                       progress)
        except InputError as e:
            shutil.rmtree(work, ignore_errors=True)
            raise gr.Error(str(e), print_exception=False) from e
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return str(out), [str(out), str(npz), str(csv)], str(work)

    with gr.Blocks(title="talkinghead", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# talkinghead\nA portrait and speech in, a talking-head video out. On this computer's CPU, offline.")
        workdir = gr.State(None)
        with gr.Row():
            with gr.Column():
                portrait = gr.Image(label="Portrait (a face: photo, painting, cartoon)", type="filepath",
                                    sources=["upload", "webcam"], elem_id="portrait")
                audio = gr.Audio(label="Speech (recording or microphone)", type="filepath",
                                 sources=["upload", "microphone"], elem_id="audio")
                text = gr.Textbox(label="...or text to speak (needs the 'tts' extra)", lines=2, elem_id="text")
                transcript = gr.Textbox(label="Transcript of the recording (optional, English: best lips)",
                                        elem_id="transcript")
                with gr.Row():
                    size = gr.Dropdown(list(SIZES), value=512, label="Size (px)")
                    motion = gr.Dropdown(["auto", "learned", "rules"], value="auto", label="Motion model")
                    still = gr.Checkbox(label="Still head", value=False)
                go = gr.Button("Generate", variant="primary", elem_id="generate")
                gr.Examples([[str(assets / "astronaut.png"), str(assets / "jfk.flac")]], inputs=[portrait, audio],
                            label="Demo (public domain: NASA portrait, JFK 1961)")
            with gr.Column():
                video = gr.Video(label="Result", elem_id="result", autoplay=True)
                files = gr.File(label="Downloads: video, motion (.npz), ARKit blendshapes (.csv)", file_count="multiple")
        go.click(run, [portrait, audio, text, transcript, size, still, motion, workdir], [video, files, workdir],
                 concurrency_limit=1)
    app.queue(default_concurrency_limit=1, max_size=16)
    return app


def serve(host: str = "127.0.0.1", port: int = 7860) -> None:
    """Build and run the app until interrupted (blocking)."""
    build_app().launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD, show_error=False,
                       footer_links=[], quiet=False)
