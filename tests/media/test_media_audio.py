"""load_speech: any container to mono float32 at one rate; clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkinghead.media import VideoWriter, load_speech
from talkinghead.types import InputError, Speech


def _dominant_hz(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sample_rate / len(x))


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg", "m4a"])
def test_tone_any_container(make_tone, ext: str) -> None:
    speech = load_speech(make_tone(ext, seconds=1.0, amp=0.5))
    assert isinstance(speech, Speech)
    assert speech.sample_rate == 16000
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    # Lossy codecs add encoder delay / padding of a few tens of ms.
    assert speech.duration_s == pytest.approx(1.0, abs=0.08)
    assert np.abs(speech.samples).max() <= 1.0
    # Identical channels average to the same sine: peak stays 0.5 (no +3 dB downmix gain).
    assert np.abs(speech.samples).max() == pytest.approx(0.5, abs=0.06)
    assert _dominant_hz(speech.samples, 16000) == pytest.approx(440.0, abs=3.0)


def test_sample_rate_argument(make_tone) -> None:
    speech = load_speech(make_tone("flac", seconds=2.0), sample_rate=22050)
    assert speech.sample_rate == 22050
    assert len(speech.samples) == pytest.approx(2 * 22050, abs=64)
    assert _dominant_hz(speech.samples, 22050) == pytest.approx(440.0, abs=2.0)


def test_stereo_mix_is_channel_mean(tmp_path: Path, tone_maker, audio_file_writer) -> None:
    sig = tone_maker(1.0, 44100, amp=0.8)
    sig[1] = 0.0  # right channel silent
    speech = load_speech(audio_file_writer(tmp_path / "left.flac", sig, 44100, "flac"))
    assert np.abs(speech.samples).max() == pytest.approx(0.4, abs=0.02)


def test_full_scale_is_clipped_to_unit_range(tmp_path: Path, tone_maker, audio_file_writer) -> None:
    square = np.sign(tone_maker(0.5, 44100, amp=1.0)).astype(np.float32)  # resampling overshoots past 1
    speech = load_speech(audio_file_writer(tmp_path / "square.wav", square, 44100, "pcm_f32le"))
    assert speech.samples.max() <= 1.0 and speech.samples.min() >= -1.0


def test_silent_raises_unless_allowed(tmp_path: Path, audio_file_writer) -> None:
    path = audio_file_writer(tmp_path / "silence.wav", np.zeros((2, 44100), np.float32), 44100, "pcm_s16le")
    with pytest.raises(InputError, match="silent") as info:
        load_speech(path)
    assert str(path) in str(info.value)
    speech = load_speech(path, allow_silent=True)
    assert speech.duration_s == pytest.approx(1.0, abs=1e-3)


def test_empty_raises(tmp_path: Path, audio_file_writer) -> None:
    path = audio_file_writer(tmp_path / "empty.wav", np.zeros((1, 0), np.float32), 44100, "pcm_s16le")
    with pytest.raises(InputError, match="empty"):
        load_speech(path)


def test_corrupt_file_raises_one_line_naming_file(random_bytes_file) -> None:
    path = random_bytes_file("noise.wav")
    with pytest.raises(InputError) as info:
        load_speech(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_speech(tmp_path / "nope.wav")


def test_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        load_speech(tmp_path)


def test_video_without_audio_raises(tmp_path: Path) -> None:
    path = tmp_path / "silent_video.mp4"
    with VideoWriter(path, 25, (64, 64)) as writer:
        for _ in range(3):
            writer.write(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(InputError, match="no audio stream"):
        load_speech(path)


def test_bad_sample_rate_is_value_error(make_tone) -> None:
    with pytest.raises(ValueError):
        load_speech(make_tone("wav"), sample_rate=0)


# -- real media ------------------------------------------------------------------------


def test_real_24bit_48k_stereo_wav(shared_data: Path) -> None:
    speech = load_speech(shared_data / "audio" / "sadtalker_japanese.wav")
    assert speech.sample_rate == 16000
    assert speech.duration_s == pytest.approx(9.0924, abs=0.01)
    assert 0.1 < np.abs(speech.samples).max() <= 1.0


def test_real_flac(shared_data: Path) -> None:
    speech = load_speech(shared_data / "audio" / "whisper_jfk.flac", sample_rate=16000)
    assert speech.duration_s == pytest.approx(11.0, abs=0.01)
    assert speech.samples.dtype == np.float32


def test_real_video_audio_track(shared_data: Path) -> None:
    speech = load_speech(shared_data / "videos" / "vrt_face1.mp4")
    assert speech.duration_s == pytest.approx(6.1, abs=0.05)
    assert np.abs(speech.samples).max() > 0.05


def test_write_wav_round_trips_16_bit_samples(tmp_path: Path) -> None:
    """write_wav uses the 16-bit convention the decoder reads (int16 / 32768), so 16-bit speech
    comes back exactly, from float32 or from int16; louder than full scale is clipped."""
    from talkinghead.media.audio import write_wav

    k = np.random.default_rng(2).permutation(np.arange(-32768, 32768)).astype(np.int16)  # every 16-bit value
    x = k.astype(np.float32) / np.float32(32768)
    for samples in (x, k):
        back = load_speech(write_wav(Speech(samples, 16000), tmp_path / "a.wav"), 16000, allow_silent=True)
        np.testing.assert_array_equal(back.samples, x)
    loud = load_speech(write_wav(Speech(np.array([1.5, -1.5, 0.5] * 800, np.float32), 16000), tmp_path / "b.wav"))
    assert loud.samples[:3].tolist() == [32767 / 32768, -1.0, 0.5]
