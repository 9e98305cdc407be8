from __future__ import annotations

from importlib import resources
from pathlib import Path

import av
import numpy as np
import pytest

import talkinghead.long_speech as long_speech
from talkinghead.audio.features import ANALYSIS_RATE as RATE
from talkinghead.long_speech import SpeechSegments
from talkinghead.media.audio import load_speech, write_wav
from talkinghead.pipeline import GenerateConfig, generate
from talkinghead.types import InputError, MotionSequence, Speech

ASSETS = Path(str(resources.files("talkinghead") / "assets"))
JFK = ASSETS / "jfk.flac"
SHORT = dict(long_s=5.0, segment_s=4.0, search_s=1.0, overlap_s=0.4)  # the demo's 11 s in three segments


def test_segments_overlap_at_quiet_cuts_and_hold_the_decoded_speech() -> None:
    speech = load_speech(JFK).samples
    with SpeechSegments(JFK, 25.0, **SHORT) as cutter:
        assert cutter.whole() is None  # 11 s is over long_s: it is long
        segments = list(cutter)
    assert len(segments) == 3 and segments[-1].cut is None and segments[0].first_frame == 0
    level = np.sqrt(np.convolve(speech.astype(np.float64) ** 2, np.ones(3200) / 3200, mode="same"))
    mark = 100  # frames: each cut within the search (1 s) of its mark, a segment (4 s) past the last cut
    for seg, nxt in zip(segments, segments[1:]):
        assert abs(seg.cut - mark) <= 25
        mark = seg.cut + 100
        assert nxt.first_frame == seg.cut - 10  # the next starts an overlap (0.4 s) before the cut ...
        assert len(seg.speech.samples) == (seg.cut + 10 - seg.first_frame) * 640  # ... where this one ends
        assert level[seg.cut * 640] < np.median(level)  # cut where it is quiet
    for seg in segments:  # each segment is the decoded speech over its stretch, bit for bit
        start = seg.first_frame * 640
        assert np.array_equal(seg.speech.samples, speech[start:start + len(seg.speech.samples)])
    assert segments[-1].first_frame * 640 + len(segments[-1].speech.samples) == len(speech)


@pytest.mark.parametrize("stated", [True, False])
def test_short_speech_is_read_whole_as_load_speech_reads_it(stated: bool) -> None:
    with SpeechSegments(JFK, 25.0, long_s=12.0) as cutter:
        if not stated:  # a file that states no duration: read up to long_s to see whether it ends
            cutter.reader.stated_s = 0.0
        whole = cutter.whole()
    assert whole is not None and whole.sample_rate == RATE
    assert np.array_equal(whole.samples, load_speech(JFK).samples)
    with SpeechSegments(JFK, 25.0, long_s=8.0) as cutter:
        if not stated:
            cutter.reader.stated_s = 0.0
        assert cutter.whole() is None  # 11 s: long


def test_long_silence_is_refused_when_its_end_is_reached(tmp_path: Path) -> None:
    quiet = write_wav(Speech(np.zeros(RATE * 12, np.float32), RATE), tmp_path / "quiet.wav")
    with SpeechSegments(quiet, 25.0, **SHORT) as cutter:
        assert cutter.whole() is None
        with pytest.raises(InputError, match="quiet.wav: audio is silent"):
            list(cutter)


def _mouth(seq: MotionSequence) -> np.ndarray:
    return seq.landmark_offsets[:, 14, 1] - seq.landmark_offsets[:, 13, 1]


def test_long_speech_is_made_in_segments_that_join_without_a_seam(tmp_path: Path, monkeypatch) -> None:
    config = GenerateConfig(size=128, phones="acoustic")
    generate(ASSETS / "astronaut.png", JFK, tmp_path / "whole.mp4", config=config, motion_out=tmp_path / "whole.npz")
    for name, value in (("LONG_SPEECH_S", 5.0), ("SEGMENT_S", 4.0), ("SEARCH_S", 1.0), ("OVERLAP_S", 0.4)):
        monkeypatch.setattr(long_speech, name, value)
    generate(ASSETS / "astronaut.png", JFK, tmp_path / "long.mp4", config=config, motion_out=tmp_path / "long.npz")
    whole, long = MotionSequence.load(tmp_path / "whole.npz"), MotionSequence.load(tmp_path / "long.npz")
    assert long.num_frames == whole.num_frames == 275
    with av.open(str(tmp_path / "long.mp4")) as c:
        assert c.streams.video[0].frames == 275
        assert abs(float(c.streams.audio[0].duration * c.streams.audio[0].time_base) - 11.0) < 0.05
    # The same lips (segments analysed alone differ a little from the whole), no jump where they join
    assert np.corrcoef(_mouth(whole), _mouth(long))[0, 1] > 0.9
    steps = np.abs(np.diff(long.landmark_offsets, axis=0)).max(axis=(1, 2))
    assert steps.max() < 1.5 * np.abs(np.diff(whole.landmark_offsets, axis=0)).max()
    assert np.abs(np.diff(long.head_pose[:, :3], axis=0)).max() < 1.5 * np.abs(np.diff(whole.head_pose[:, :3], axis=0)).max() + 0.1


def test_the_last_segment_gives_the_frames_of_the_whole_speech(tmp_path: Path) -> None:
    from talkinghead.motion.rules import num_video_frames

    samples = load_speech(JFK).samples[:257600 - 16000]  # 15.1 s: 377.5 frames, a half frame
    path = write_wav(Speech(np.concatenate([samples, samples[:16000]]), RATE), tmp_path / "half.wav")
    n = len(load_speech(path).samples)
    for fps in (25.0, 30.0, 24.0):
        with SpeechSegments(path, fps, **SHORT) as cutter:
            assert cutter.whole() is None
            last = list(cutter)[-1]
        assert last.first_frame + last.frames == num_video_frames(n / RATE, fps)


def test_a_directory_gets_load_speechs_message(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not an audio file"):
        SpeechSegments(tmp_path, 25.0)


def test_phones_within_cuts_the_phones_of_a_part_and_shifts_them_to_its_start() -> None:
    from talkinghead.long_speech import phones_within
    from talkinghead.types import PhoneSegment, PhoneSegments

    ph = PhoneSegments((PhoneSegment("SIL", 0.0, 1.0), PhoneSegment("M", 1.0, 1.2), PhoneSegment("AA", 1.2, 2.5),
                        PhoneSegment("SIL", 2.5, 4.0)), "alignment")
    part = phones_within(ph, 1.1, 1.0)
    assert part.source == "alignment"
    assert [(p.phone, round(p.start_s, 6), round(p.end_s, 6)) for p in part.segments] == [("M", 0.0, 0.1), ("AA", 0.1, 1.0)]
    assert len(phones_within(ph, 5.0, 1.0)) == 0


def test_long_speech_with_a_transcript_is_aligned_whole_and_each_segment_gets_its_phones(tmp_path: Path,
                                                                                         monkeypatch) -> None:
    import talkinghead.analysis as analysis
    from talkinghead.cli import DEMO_TRANSCRIPT

    config = GenerateConfig(size=128)
    generate(ASSETS / "astronaut.png", JFK, tmp_path / "whole.mp4", transcript=DEMO_TRANSCRIPT, config=config,
             motion_out=tmp_path / "whole.npz", processes=1)
    for name, value in (("LONG_SPEECH_S", 5.0), ("SEGMENT_S", 4.0), ("SEARCH_S", 1.0), ("OVERLAP_S", 0.4)):
        monkeypatch.setattr(long_speech, name, value)
    seen, aligned = [], []
    real, real_align = analysis.analyse_speech, analysis.aligned_phones

    def spy(speech, transcript, mode, times=None, known=None, processes=2):
        seen.append((len(speech.samples) / speech.sample_rate, transcript, known))
        return real(speech, transcript, mode, times, known=known, processes=processes)

    def spy_align(speech, transcript, processes=1):
        aligned.append((len(speech.samples) / speech.sample_rate, transcript))
        return real_align(speech, transcript, processes)

    monkeypatch.setattr(analysis, "analyse_speech", spy)
    monkeypatch.setattr(analysis, "aligned_phones", spy_align)
    generate(ASSETS / "astronaut.png", JFK, tmp_path / "long.mp4", transcript=DEMO_TRANSCRIPT, config=config,
             motion_out=tmp_path / "long.npz", processes=1)
    # Aligned once whole (only the alignment, no features), then three segments analysed with their part of its phones.
    assert len(aligned) == 1 and aligned[0][1] == DEMO_TRANSCRIPT and aligned[0][0] > 10.9
    assert len(seen) == 3 and sum(s[0] for s in seen) > 11.0
    for seconds, transcript, known in seen:
        assert transcript is None and known.source == "alignment" and len(known) > 3
        assert known.segments[0].start_s >= 0.0 and known.segments[-1].end_s <= seconds + 1e-6
    whole, long = MotionSequence.load(tmp_path / "whole.npz"), MotionSequence.load(tmp_path / "long.npz")
    assert long.num_frames == whole.num_frames == 275
    assert np.corrcoef(_mouth(whole), _mouth(long))[0, 1] > 0.9
    # With two processes: aligned in its own, the segments analysed in the early process and fresh ones.
    generate(ASSETS / "astronaut.png", JFK, tmp_path / "long2.mp4", transcript=DEMO_TRANSCRIPT, config=config,
             motion_out=tmp_path / "long2.npz", processes=2)
    long2 = MotionSequence.load(tmp_path / "long2.npz")
    assert long2.num_frames == 275 and np.corrcoef(_mouth(long), _mouth(long2))[0, 1] > 0.99


def test_aligned_whole_in_its_own_process_gives_the_phones_of_this_one(caplog) -> None:
    from talkinghead.cli import DEMO_TRANSCRIPT
    from talkinghead.long_speech import aligned_whole
    from talkinghead.pipeline import StageTimes

    here, aside = StageTimes(), StageTimes()
    one = aligned_whole(JFK, DEMO_TRANSCRIPT, 1, here)
    with caplog.at_level("WARNING"):
        two = aligned_whole(JFK, DEMO_TRANSCRIPT, 2, aside)
    assert not [r for r in caplog.records if "runs in this process" in r.getMessage()]  # it did run aside
    assert one.source == "alignment" and len(one) > 20 and one == two
    assert here.seconds["audio_phones"] > 0 and aside.seconds["audio_phones"] > 0
    # A transcript that cannot be aligned gives no phones (the motion follows the audio), not an error.
    assert aligned_whole(JFK, "xqzv", 2, StageTimes()).source == "none"
