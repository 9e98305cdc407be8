from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from talkinghead.cli import DEMO_TRANSCRIPT
from talkinghead.media.audio import load_speech
from talkinghead.media.image import load_image
from talkinghead.pipeline import GenerateConfig, TalkingHeadPipeline, analyse_speech
from talkinghead.types import InputError

ASSETS = Path(str(resources.files("talkinghead") / "assets"))


@pytest.fixture(scope="module")
def demo():
    return load_image(ASSETS / "astronaut.png"), load_speech(ASSETS / "jfk.flac")


def test_auto_motion_is_learned_with_and_without_phones(demo) -> None:
    image, speech = demo
    pipe = TalkingHeadPipeline(image, GenerateConfig(size=128))
    aligned = pipe.motion(analyse_speech(speech, DEMO_TRANSCRIPT, "auto"))
    no_phones = analyse_speech(speech, None, "acoustic")
    assert no_phones.phones.source == "none"
    learned = pipe.motion(no_phones)
    acoustic = TalkingHeadPipeline(image, GenerateConfig(size=128, motion="rules")).motion(no_phones)
    assert aligned.source == "learned" and learned.source == "learned"
    assert acoustic.source == "acoustic"  # the rule path's acoustic mode, still selectable
    for seq in (aligned, learned, acoustic):
        assert seq.num_frames == 275 and seq.landmark_offsets.shape == (275, 478, 3)
        assert np.isfinite(seq.landmark_offsets).all()
    # phones change the learned mouth, but only a little: the model reads the audio itself
    gap = lambda s: s.landmark_offsets[:, 14, 1] - s.landmark_offsets[:, 13, 1]  # noqa: E731
    assert not np.allclose(gap(aligned), gap(learned)) and np.corrcoef(gap(aligned), gap(learned))[0, 1] > 0.8


def test_frames_rendered_in_worker_processes_are_the_same_video(demo, tmp_path, monkeypatch) -> None:
    from talkinghead.media.video import read_video
    from talkinghead.pipeline import StageTimes
    from talkinghead.render.workers import RENDER_WORKERS_MIN_FRAMES, render_processes, render_workers_available

    if not render_workers_available():
        pytest.skip("render workers need fork (Linux)")
    image, speech = demo
    pipe = TalkingHeadPipeline(image, GenerateConfig(size=128))
    seq = pipe.motion(analyse_speech(speech, None, "acoustic"))
    from dataclasses import replace

    cut = lambda a, b: replace(seq, au=seq.au[a:b], landmark_offsets=seq.landmark_offsets[a:b],  # noqa: E731
                               head_pose=seq.head_pose[a:b], blink=seq.blink[a:b])
    pieces = [cut(0, 100), cut(100, seq.num_frames)]  # consecutive pieces, as generate makes them
    import talkinghead.render.workers as workers

    pipe.write(iter(pieces), speech, tmp_path / "here.mp4")
    used = []
    frames = workers.RenderWorkers.frames
    monkeypatch.setattr(workers.RenderWorkers, "frames", lambda self, m: used.append(len(self._workers)) or frames(self, m))
    pipe.times = StageTimes()
    pipe.write(iter(pieces), speech, tmp_path / "workers.mp4", render_processes=2)
    assert used == [2]  # rendered by two worker processes, not here
    assert pipe.times.seconds["render"] > 0
    pipe.write(seq, speech, tmp_path / "whole.mp4", render_processes=2)  # one MotionSequence, not pieces
    here, there = list(read_video(tmp_path / "here.mp4")), list(read_video(tmp_path / "workers.mp4"))
    assert len(here) == len(there) == seq.num_frames
    assert all(np.array_equal(a, b) for a, b in zip(here, there))
    assert all(np.array_equal(a, b) for a, b in zip(here, read_video(tmp_path / "whole.mp4")))
    # generate renders in workers only with a second process to use and enough frames to repay them
    assert render_processes(1, 10_000) == 0 and render_processes(2, RENDER_WORKERS_MIN_FRAMES - 1) == 0
    assert render_processes(2, RENDER_WORKERS_MIN_FRAMES) >= 2


def test_motion_can_be_saved_and_loaded(demo, tmp_path) -> None:
    from talkinghead.types import MotionSequence

    image, speech = demo
    pipe = TalkingHeadPipeline(image, GenerateConfig(size=128, motion="rules"))
    seq = pipe.motion(analyse_speech(speech, DEMO_TRANSCRIPT, "align"))
    seq.save(tmp_path / "m.npz")
    back = MotionSequence.load(tmp_path / "m.npz")
    assert back.au_names == seq.au_names and back.source == "rules"
    np.testing.assert_array_equal(back.landmark_offsets, seq.landmark_offsets)
    np.testing.assert_array_equal(back.curve("jawOpen"), seq.curve("jawOpen"))


def test_analysis_aside_runs_in_a_second_process_and_matches_the_analysis_here(demo) -> None:
    import time

    from talkinghead.pipeline import StageTimes, analysis_aside
    from talkinghead.types import InputError

    _, speech = demo
    here = analyse_speech(speech, DEMO_TRANSCRIPT, "align")
    times = StageTimes()
    with analysis_aside(speech, DEMO_TRANSCRIPT, "align") as analysis:
        aside = analysis(times)
    assert aside.phones == here.phones and aside.phones.source == "alignment"
    np.testing.assert_array_equal(aside.features.mel, here.features.mel)
    np.testing.assert_array_equal(aside.active, here.active)
    assert times.seconds["audio_phones"] > 0 and aside.speech is speech
    # the warm-up matches what the analysis will need
    from talkinghead.analysis import warm_up_for

    assert warm_up_for(DEMO_TRANSCRIPT, "auto") == warm_up_for(DEMO_TRANSCRIPT, "align") == "warm_align"
    assert warm_up_for(None, "auto") == warm_up_for(None, "recognize") == "warm_recognize"
    assert warm_up_for(None, "acoustic") == warm_up_for(DEMO_TRANSCRIPT, "auto", here.phones) == "warm_features"
    # a child started before the speech was loaded (warmed up: imports, decoder) gives the same;
    # its warm-ups fail silently there, so they are run here once
    from talkinghead.analysis import warm_align, warm_recognize
    from talkinghead.pipeline import start_analysis

    warm_align()
    warm_recognize()

    for transcript, mode in ((DEMO_TRANSCRIPT, "auto"), (None, "acoustic")):
        with start_analysis(transcript, mode) as started, \
                analysis_aside(speech, transcript, mode, started=started) as analysis:
            warm = analysis(StageTimes())
        ref = here if transcript else analyse_speech(speech, None, "acoustic")
        assert warm.phones == ref.phones
        np.testing.assert_array_equal(warm.features.mel, ref.features.mel)
    # the child's error is raised here, as analyse_speech would raise it
    with pytest.raises(InputError, match="needs --transcript"), analysis_aside(speech, None, "align") as analysis:
        analysis(StageTimes())
    # leaving the block without waiting ends the child (recognition of 11 s takes seconds)
    t = time.perf_counter()
    with analysis_aside(speech, None, "recognize"):
        pass
    assert time.perf_counter() - t < 2.0


def test_analysis_falls_back_to_this_process_when_the_second_one_is_lost(demo, monkeypatch, caplog) -> None:
    import sys

    from talkinghead.pipeline import StageTimes, analysis_aside

    _, speech = demo
    monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, then ends at once without a result
    with analysis_aside(speech, None, "acoustic") as analysis:
        aside = analysis(StageTimes())
    assert "runs in this process" in caplog.text
    np.testing.assert_array_equal(aside.features.energy, analyse_speech(speech, None, "acoustic").features.energy)


def test_the_analysis_process_is_ended_when_sending_the_speech_fails(demo, monkeypatch) -> None:
    """An error while the speech is made 16-bit for the second process leaves no process behind."""
    import talkinghead.audio.phones as phones
    from talkinghead.pipeline import analysis_aside

    closed = []

    class Child:
        def call(self, *args, **kwargs) -> None:
            raise AssertionError("nothing is sent when the conversion fails")

        def close(self) -> None:
            closed.append(True)

    def fails(speech):
        raise MemoryError("no room for the 16-bit copy")

    _, speech = demo
    monkeypatch.setattr(phones, "pcm16_speech", fails)
    with pytest.raises(MemoryError), analysis_aside(speech, None, "acoustic", started=Child(), reload=lambda: speech):
        pass
    assert closed == [True]


def test_once_the_analysis_is_taken_nothing_holds_the_speech(demo) -> None:
    """generate lets the speech go before rendering (230 MB an hour); the analysis' context and its
    second process must not keep it alive for the rest of the run."""
    import gc
    import weakref

    from talkinghead.pipeline import StageTimes, analysis_aside
    from talkinghead.types import Speech

    _, demo_speech = demo
    speech = Speech(samples=demo_speech.samples.copy(), sample_rate=demo_speech.sample_rate)
    gone = weakref.ref(speech)
    with analysis_aside(speech, None, "acoustic") as analysis:
        del speech
        result = analysis(StageTimes())
        assert gone() is result.speech  # given back with the result
        result = None
        gc.collect()
        assert gone() is None  # ... and held by nothing else while the block still runs


def test_with_reload_the_speech_is_let_go_once_sent_and_the_fallback_loads_it_again(demo, monkeypatch, caplog) -> None:
    """generate and dub give the analysis a way to load the speech again, so neither holds an hour's
    samples (230 MB) while the second process analyses them; the fallback in this process reloads."""
    import gc
    import sys
    import weakref

    from talkinghead.pipeline import StageTimes, analysis_aside
    from talkinghead.types import Speech

    _, demo_speech = demo
    speech = Speech(samples=demo_speech.samples.copy(), sample_rate=demo_speech.sample_rate)
    gone = weakref.ref(speech)
    with analysis_aside(speech, None, "acoustic", reload=lambda: demo_speech) as analysis:
        del speech
        for _ in range(1000):  # the sending thread lets it go once the child has it
            gc.collect()
            if gone() is None:
                break
            time.sleep(0.01)
        assert gone() is None  # before the result is taken
        result = analysis(StageTimes())
    assert result.speech.samples.shape == demo_speech.samples.shape and not result.speech.samples.any()
    assert result.speech.duration_s == demo_speech.duration_s
    expected = analyse_speech(demo_speech, None, "acoustic").features.energy
    np.testing.assert_array_equal(result.features.energy, expected)
    # the analysis reads 16-bit PCM wherever it runs (the second process gets it so): the demo (a
    # 24-bit file) is rounded to 16 bits; a 16-bit source is read as it is
    from talkinghead.audio.features import compute_features
    from talkinghead.audio.phones import pcm16_speech

    np.testing.assert_array_equal(compute_features(pcm16_speech(demo_speech)).energy, expected)
    assert not np.array_equal(compute_features(demo_speech).energy, expected)
    s16 = Speech(np.round(demo_speech.samples * 32768).clip(-32768, 32767).astype(np.float32) / 32768, 16000)
    np.testing.assert_array_equal(compute_features(s16).mel, analyse_speech(s16, None, "acoustic").features.mel)

    loads = []
    monkeypatch.setattr(sys, "executable", "/bin/false")  # no second process: the fallback reloads
    with analysis_aside(Speech(demo_speech.samples.copy(), demo_speech.sample_rate), None, "acoustic",
                        reload=lambda: loads.append(1) or demo_speech) as analysis:
        result = analysis(StageTimes())
    assert loads == [1] and "runs in this process" in caplog.text
    np.testing.assert_array_equal(result.features.energy, expected)


def test_generate_uses_an_analysis_process_started_before_it_and_ends_it(tmp_path, monkeypatch) -> None:
    """The CLI starts the analysis process before its imports and hands it to generate, which must
    use it (not start another) and end it; a job that is not a recording's ends it unused."""
    import talkinghead.pipeline as pipeline
    from talkinghead.eval.speed import cut_audio
    from talkinghead.media.video import probe_video
    from talkinghead.pipeline import speak_or_play, start_analysis

    one = cut_audio(str(ASSETS / "jfk.flac"), 1.0, str(tmp_path))
    started = start_analysis(None, "acoustic")
    proc = started._proc
    assert proc is not None and proc.poll() is None

    def no_second(*args, **kwargs):
        raise AssertionError("generate started its own analysis process beside the given one")

    monkeypatch.setattr(pipeline, "start_analysis", no_second)
    out = tmp_path / "out.mp4"
    times = speak_or_play(ASSETS / "astronaut.png", out, audio=one, config=GenerateConfig(size=128, phones="acoustic"),
                          started=started)
    assert probe_video(out).num_frames == 25 and times.seconds["audio_features"] > 0
    assert proc.poll() is not None  # ended with the job
    # a job without a recording (here a bad one: nothing to say) ends it too, before failing
    unused = start_analysis(None, "acoustic")
    with pytest.raises(InputError, match="nothing to say"):
        speak_or_play(ASSETS / "astronaut.png", tmp_path / "x.mp4", started=unused)
    assert unused._proc is not None and unused._proc.wait(timeout=10) is not None
