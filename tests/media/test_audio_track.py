"""The output's sound is the input's: its sample rate and channels, streamed, aligned to the sample."""

from __future__ import annotations

import wave
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from talkinghead.media.audio import ArrayTrack, AudioTrack, load_speech

ASSETS = Path(str(resources.files("talkinghead") / "assets"))


def _write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """PCM wav of float ``[N]`` or ``[N, C]`` samples, 16- or 24-bit."""
    x = np.clip(np.asarray(samples, np.float64), -1, 1)
    x = x[:, None] if x.ndim == 1 else x
    q = np.round(x * (2 ** (8 * width - 1) - 1)).astype("<i4")
    raw = q.astype("<i2").tobytes() if width == 2 else np.stack(
        [(q >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def _excerpt(shared: Path | None, kind: str, tmp: Path) -> Path:
    """2.5 s of real speech in the wanted format."""
    from scipy.signal import resample_poly

    jfk = load_speech(ASSETS / "jfk.flac", 44100).samples[44100:44100 + int(2.5 * 44100)]
    if kind == "44k_stereo":  # the channels differ (a louder, slightly delayed right channel)
        return _write_wav(tmp / "a.wav", np.stack([0.7 * jfk, 0.9 * np.roll(jfk, 20)], axis=1), 44100)
    if kind == "16k_mono":
        return _write_wav(tmp / "b.wav", resample_poly(jfk, 160, 441), 16000)
    if kind == "8k_mono":
        return _write_wav(tmp / "c.wav", resample_poly(jfk, 80, 441), 8000)
    assert shared is not None
    import av

    # 48 kHz 24-bit stereo real recording: cut 2.5 s with PyAV (keeps its format)
    src = shared / "audio" / "sadtalker_deyu_german.wav"
    with av.open(str(src)) as c:
        s = c.streams.audio[0]
        assert s.codec_context.sample_rate == 48000 and s.codec_context.channels == 2 and "24" in s.codec_context.name
        chunks = [f.to_ndarray() for f in c.decode(s)]
    x = np.concatenate(chunks, axis=-1).astype(np.float64)
    x = x.reshape(2, -1) if x.shape[0] == 2 else x.reshape(-1, 2).T
    x = x / 2 ** 31 if np.abs(x).max() > 2 else x
    return _write_wav(tmp / "d.wav", x[:, 48000:48000 + 120000].T, 48000, width=3)


@pytest.mark.parametrize(("kind", "rate", "channels"), [("44k_stereo", 44100, 2), ("48k_24bit_stereo", 48000, 2),
                                                        ("16k_mono", 16000, 1), ("8k_mono", 8000, 1)])
def test_generate_keeps_the_input_rate_and_channels(kind: str, rate: int, channels: int, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    import av

    from talkinghead.pipeline import GenerateConfig, generate

    shared = request.getfixturevalue("shared_data") if kind == "48k_24bit_stereo" else None
    src = _excerpt(shared, kind, tmp_path)
    out = tmp_path / "out.mp4"
    generate(ASSETS / "astronaut.png", src, out, config=GenerateConfig(size=64, phones="acoustic"))
    with av.open(str(out)) as c:
        a = c.streams.audio[0].codec_context
        assert (a.sample_rate, a.channels, a.name) == (rate, channels, "aac")
        if rate >= 44100:  # below that AAC itself caps the rate (1024 samples carry at most 6144 bits a channel)
            assert c.streams.audio[0].bit_rate >= 120000
    # the same sound, at lag 0 +- 1 ms, as long as the input (both to 16 kHz mono to compare)
    x, y = load_speech(src).samples, load_speech(out).samples
    # as long as the input, but for the padding of the last AAC frame (1024 samples at the output rate)
    assert -16 <= len(y) - len(x) <= 16000 * 1024 // rate + 16
    n = min(len(x), len(y))
    lags = range(-48, 49)
    r = [float(np.corrcoef(x[100 + k:n - 100 + k], y[100:n - 100])[0, 1]) for k in lags]
    best = int(np.argmax(r))
    assert r[best] > 0.95 and abs(list(lags)[best]) <= 16, (r[best], list(lags)[best])
    if channels == 2:  # each channel is its own: the output's left and right follow the input's
        with AudioTrack(src) as a, AudioTrack(out) as b:
            xi, yo = a.read(rate * 2), b.read(rate * 2)
        for c in (0, 1):
            assert float(np.corrcoef(xi[c, 2000:-2000], yo[c, 2000:-2000])[0, 1]) > 0.95
        # the channels' level ratio is kept (0.9 / 0.7 in the synthetic file): not one channel copied
        assert np.std(yo[1]) / np.std(yo[0]) == pytest.approx(np.std(xi[1]) / np.std(xi[0]), rel=0.05)


def test_audio_track_streams_blocks_of_the_file_as_decoded(tmp_path: Path) -> None:
    t = np.arange(22050) / 22050
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 220 * t)
    p = _write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1) * 0.5, 22050)
    with AudioTrack(p) as tr:
        assert (tr.sample_rate, tr.channels, tr.layout) == (22050, 2, "stereo")
        blocks = [tr.read(1000) for _ in range(23)]
    assert all(b.shape == (2, 1000) for b in blocks[:22]) and blocks[22].shape == (2, 50)
    x = np.concatenate(blocks, axis=1)
    np.testing.assert_allclose(x[0], 0.5 * left, atol=1e-3)
    np.testing.assert_allclose(x[1], 0.5 * right, atol=1e-3)
    a = ArrayTrack(np.arange(5, dtype=np.float32), 8000)
    assert a.read(3).tolist() == [[0, 1, 2]] and a.read(3).tolist() == [[3, 4]] and a.read(3).shape == (1, 0)


def test_audio_track_errors_name_the_file(tmp_path: Path) -> None:
    from talkinghead.types import InputError

    with pytest.raises(InputError, match="missing.wav: audio file not found"):
        AudioTrack(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    with pytest.raises(InputError, match="bad.wav"):
        AudioTrack(bad)
    with pytest.raises(ValueError):
        ArrayTrack(np.zeros((3, 10)), 16000)
