"""Features and voice activity on synthetic signals with known answers (and one real clip)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from talkinghead.audio import compute_features, mel_filterbank, speech_activity
from talkinghead.types import FEATURE_RATE, N_MELS, Speech


def sawtooth(f0: float, dur: float, sr: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(dur * sr))) / sr
    return (amp * (2.0 * ((f0 * t) % 1.0) - 1.0)).astype(np.float32)


def vowel(formants: list[tuple[float, float]], f0: float, sr: int, dur: float = 0.6) -> np.ndarray:
    """Impulse train through a glottal tilt and second-order resonators (Klatt-style cascade)."""
    n = int(sr * dur)
    src = np.zeros(n)
    src[:: int(sr / f0)] = 1.0
    y = lfilter([1.0], [1.0, -0.95], src)
    for f, bw in formants:
        r = np.exp(-np.pi * bw / sr)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], y)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def burst(sr: int = 16000) -> np.ndarray:
    """0.5 s silence, 1 s 200 Hz sawtooth, 0.5 s silence."""
    z = np.zeros(sr // 2, np.float32)
    return np.concatenate([z, sawtooth(200.0, 1.0, sr), z])


@pytest.mark.parametrize(
    ("n", "sr", "frames"),
    [(16000, 16000, 100), (16001, 16000, 101), (16080, 16000, 101), (22050, 44100, 50), (1, 8000, 1), (0, 16000, 0)],
)
def test_frame_count_and_shapes(n: int, sr: int, frames: int) -> None:
    f = compute_features(Speech(np.zeros(n, np.float32), sr))
    assert f.num_frames == frames
    assert f.mel.shape == (frames, N_MELS)
    assert f.energy.shape == f.f0.shape == (frames,)
    assert f.formants.shape == (frames, 2)
    assert f.frame_rate == FEATURE_RATE
    for a in (f.mel, f.energy, f.f0, f.formants):
        assert a.dtype == np.float32


def test_silence_is_floor() -> None:
    f = compute_features(Speech(np.zeros(8000, np.float32), 16000))
    assert np.all(f.energy == -100.0)
    assert np.all(f.f0 == 0.0)
    assert np.all(f.formants == 0.0)
    assert np.allclose(f.mel, np.log(1e-10))


@pytest.mark.parametrize("sr", [16000, 44100, 22050, 8000])
def test_sawtooth_pitch_and_energy(sr: int) -> None:
    f = compute_features(Speech(burst(sr), sr))
    assert f.num_frames == 200
    tone = slice(55, 145)  # well inside 0.5-1.5 s
    voiced = f.f0[tone] > 0
    assert voiced.mean() > 0.95
    assert abs(float(np.median(f.f0[tone][voiced])) - 200.0) < 3.0
    # Silence: unvoiced, quiet; frame t is centred on t/100 s, so the edges are sharp.
    assert np.all(f.f0[:45] == 0) and np.all(f.f0[155:] == 0)
    assert np.all(f.energy[:45] < -90) and np.all(f.energy[155:] < -90)
    # 0.3-amplitude sawtooth: RMS 0.3 / sqrt(3) = -15.2 dBFS
    assert np.all(np.abs(f.energy[tone] - 20 * np.log10(0.3 / np.sqrt(3))) < 0.5)
    assert f.energy[tone].mean() > f.energy[:45].mean() + 60.0
    assert f.energy[48] < f.energy[52]  # onset between frames 48 and 52 (0.5 s)


def test_pitch_range_low_and_high() -> None:
    for f0 in (80.0, 350.0):
        f = compute_features(Speech(sawtooth(f0, 0.5, 16000), 16000))
        v = f.f0[5:45]
        assert (v > 0).mean() > 0.9
        assert abs(float(np.median(v[v > 0])) - f0) < 0.02 * f0


@pytest.mark.parametrize(
    "formants",
    [
        [(700, 80), (1200, 90), (2500, 120)],  # /a/
        [(300, 60), (2300, 100), (3000, 120)],  # /i/
        [(350, 60), (800, 80), (2400, 120)],  # /u/
    ],
)
@pytest.mark.parametrize(("sr", "f0"), [(16000, 110.0), (44100, 210.0)])
def test_formants_of_synthetic_vowels(formants: list[tuple[float, float]], sr: int, f0: float) -> None:
    f = compute_features(Speech(vowel(formants, f0, sr), sr))
    v = f.f0 > 0
    assert v.mean() > 0.9
    f1, f2 = np.median(f.formants[v], axis=0)
    assert abs(f1 - formants[0][0]) < 0.2 * formants[0][0]
    assert abs(f2 - formants[1][0]) < 0.1 * formants[1][0]
    assert np.all(f.formants[~v] == 0)


def test_mel_filterbank_and_sine_peak() -> None:
    fb = mel_filterbank()
    assert fb.shape == (N_MELS, 201)
    assert np.all(fb >= 0) and np.all(fb.sum(axis=1) > 0)
    centres = (fb * np.arange(201)[None, :]).sum(1) / fb.sum(1) * 40.0  # Hz
    assert np.all(np.diff(centres) > 0)
    t = np.arange(16000) / 16000
    f = compute_features(Speech((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 16000))
    peak = int(np.argmax(f.mel[50]))
    assert abs(centres[peak] - 1000.0) < 60.0


def test_blocks_do_not_change_features() -> None:
    """A frame's features depend only on its neighbourhood, not on where blocks (30 s) are cut."""
    rng = np.random.default_rng(0)
    sr = 16000
    x = (0.1 * rng.standard_normal(33 * sr)).astype(np.float32)
    x[31 * sr : 32 * sr] += sawtooth(150.0, 1.0, sr)
    whole = compute_features(Speech(x, sr))
    part = compute_features(Speech(x[28 * sr :], sr))
    sl = slice(2800 + 5, 3300 - 5)  # crosses frame 3000, the block boundary of `whole`
    np.testing.assert_allclose(whole.mel[sl], part.mel[5:495], atol=1e-3)
    np.testing.assert_allclose(whole.energy[sl], part.energy[5:495], atol=1e-3)
    np.testing.assert_allclose(whole.f0[sl], part.f0[5:495], atol=0.5)
    # The resampling path (44.1 kHz) keeps the frame grid: same features within resampling error.
    from talkinghead.audio.features import resample

    x44 = resample(x, 16000, 44100)
    f44 = compute_features(Speech(x44, 44100))
    assert f44.num_frames == whole.num_frames
    # (white noise loses a little energy in the resampling filters' transition band near 8 kHz)
    assert np.abs(f44.energy[100:-100] - whole.energy[100:-100]).max() < 0.6
    assert np.abs(f44.mel[100:-100, :75] - whole.mel[100:-100, :75]).mean() < 0.05


def test_speech_activity_finds_burst_in_noise() -> None:
    rng = np.random.default_rng(1)
    sr = 16000
    x = (0.002 * rng.standard_normal(3 * sr)).astype(np.float32)  # noise floor about -54 dBFS
    x[sr : 2 * sr] += sawtooth(180.0, 1.0, sr)
    x[int(1.45 * sr) : int(1.55 * sr)] = 0.002 * rng.standard_normal(int(0.1 * sr))  # 100 ms dip: filled
    act = speech_activity(compute_features(Speech(x, sr)))
    assert act.dtype == bool and act.shape == (300,)
    assert act[103:197].all()
    assert not act[:97].any() and not act[203:].any()


def test_speech_activity_keeps_long_pauses_and_handles_silence() -> None:
    sr = 16000
    z = np.zeros(int(0.4 * sr), np.float32)
    x = np.concatenate([z, sawtooth(150.0, 0.5, sr), z, sawtooth(150.0, 0.5, sr), z])
    act = speech_activity(compute_features(Speech(x, sr)))
    assert act[45:85].all() and act[135:175].all()
    assert not act[95:125].any()  # 400 ms pause stays a pause
    assert not speech_activity(compute_features(Speech(np.zeros(sr, np.float32), sr))).any()
    assert speech_activity(compute_features(Speech(np.zeros(0, np.float32), sr))).shape == (0,)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="mono"):
        compute_features(Speech(np.zeros((100, 2), np.float32), 16000))
    with pytest.raises(ValueError, match="sample rate"):
        compute_features(Speech(np.zeros(100, np.float32), 0))


def test_real_speech_features(jfk: Speech) -> None:
    f = compute_features(jfk)
    assert f.num_frames == 1100
    assert np.isfinite(f.mel).all() and np.isfinite(f.energy).all()
    v = f.f0 > 0
    assert 0.2 < v.mean() < 0.8
    assert 80 < np.median(f.f0[v]) < 250  # adult male
    f1, f2 = np.median(f.formants[v], axis=0)
    assert 250 < f1 < 900 and 900 < f2 < 2500
    act = speech_activity(f)
    assert not act[230:320].any()  # the pause after "americans" (2.2-3.2 s)
    assert act[100:200].all()  # "my fellow americans"


def test_resample_keeps_time_and_frequency() -> None:
    """A 440 Hz tone at 16 kHz, resampled to 8 and 11 kHz, is the same tone sampled at the new rate (no delay)."""
    from talkinghead.audio.features import resample

    t16 = np.arange(16000) / 16000.0
    x = np.sin(2 * np.pi * 440.0 * t16).astype(np.float32)
    assert np.array_equal(resample(x, 16000, 16000), x)
    for rate in (8000, 11000, 44100):
        y = resample(x, 16000, rate)
        assert y.dtype == np.float32 and abs(len(y) - rate) <= 1
        want = np.sin(2 * np.pi * 440.0 * np.arange(len(y)) / rate)
        inner = slice(rate // 10, len(y) - rate // 10)  # away from the ends' filter edges
        assert np.abs(y[inner] - want[inner]).max() < 2e-3, rate


def test_fast_fft_lengths_are_scipys_and_short_runs_are_filled_inside_only() -> None:
    import scipy.fft

    from talkinghead.audio.features import _fast_length, _fill_short_runs

    assert all(_fast_length(n) == scipy.fft.next_fast_len(n, real=True) for n in range(1, 3000))
    m = np.array([0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1], bool)
    # Pauses of up to 2 frames between speech are filled, but not one touching the end.
    assert _fill_short_runs(m, value=False, max_len=2, interior_only=True).astype(int).tolist() == \
        [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1]
    # Speech runs of one frame are dropped, at the ends too.
    assert _fill_short_runs(np.array([1, 0, 1, 1, 0, 1], bool), value=True, max_len=1, interior_only=False).astype(int).tolist() == \
        [0, 0, 1, 1, 0, 0]
