"""Unit tests of the evaluation metrics on synthetic arrays (no media, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.eval import metrics as M
from talkinghead.face.regions import LOWER_INNER_LIP, canonical_mesh

IOD_PX = 80.0


def face(shift: tuple[float, float] = (200.0, 150.0), scale: float = IOD_PX) -> np.ndarray:
    """A closed-mouth face mesh in pixels: the canonical mesh with an IOD of ``scale`` pixels."""
    m = canonical_mesh().astype(np.float64) * scale
    m[:, 0] += shift[0]
    m[:, 1] += shift[1]
    return m.astype(np.float32)


def open_mouth(mesh: np.ndarray, gap_iod: float) -> np.ndarray:
    """Move the lower inner lip down by ``gap_iod`` IOD (the rest of the face stays)."""
    out = mesh.copy()
    out[list(LOWER_INNER_LIP[1:-1]), 1] += gap_iod * M.inter_ocular(mesh)
    return out


def smooth_curve(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n + 20)
    k = np.hanning(9)
    return np.convolve(x, k / k.sum(), mode="same")[10:10 + n]


def test_inter_ocular_and_mouth_opening_units() -> None:
    m = face()
    assert M.inter_ocular(m) == pytest.approx(IOD_PX, rel=1e-3)
    closed = M.mouth_opening(m[None])[0]
    assert closed < 0.01
    opened = M.mouth_opening(open_mouth(m, 0.2)[None])[0]
    assert opened - closed == pytest.approx(0.2, abs=0.01)
    # scale and translation invariant: the same face twice as big elsewhere
    big = face(shift=(500.0, 400.0), scale=2 * IOD_PX)
    assert M.mouth_opening(open_mouth(big, 0.2)[None])[0] == pytest.approx(opened, abs=1e-4)


def test_mouth_opening_nan_where_no_face() -> None:
    lm = np.stack([face(), np.full((478, 3), np.nan, np.float32)])
    o = M.mouth_opening(lm)
    assert np.isfinite(o[0]) and np.isnan(o[1])


def test_pearson_edge_cases() -> None:
    x = smooth_curve(100)
    assert M.pearson(x, x) == pytest.approx(1.0)
    assert M.pearson(x, -3 * x + 2) == pytest.approx(-1.0)
    assert M.pearson(x, np.full(100, 0.3)) == 0.0
    y = x.copy()
    y[::7] = np.nan
    assert M.pearson(x, y) == pytest.approx(1.0)
    assert M.pearson(x[:2], x[:2]) == 0.0
    with pytest.raises(ValueError):
        M.pearson(x, x[:-1])


def test_still_mouth_has_no_correlation_and_no_offset() -> None:
    real = 0.05 + 0.04 * smooth_curve(100)
    still = 0.02 + 1e-4 * smooth_curve(100, seed=1)  # tracker noise on a still image
    assert M.mouth_correlation(still, real) == 0.0
    assert M.av_offset(still, real) == (None, 0.0)


@pytest.mark.parametrize("k", [-7, -2, 0, 1, 4, 10])
def test_av_offset_finds_the_shift(k: int) -> None:
    real = smooth_curve(150)
    gen = np.roll(real, k)  # gen[t] = real[t - k]: generated is k frames late
    if k > 0:
        gen[:k] = real[0]
    elif k < 0:
        gen[k:] = real[-1]
    lag, r = M.av_offset(gen, real, max_lag=10)
    assert lag == k
    assert r == pytest.approx(1.0, abs=1e-6)


def test_lagged_correlation_shape_and_peak() -> None:
    real = smooth_curve(80)
    lags, r = M.lagged_correlation(real, real, max_lag=5)
    assert lags.tolist() == list(range(-5, 6))
    assert r[5] == pytest.approx(1.0) and r.argmax() == 5


def test_mouth_lmd() -> None:
    m = face()
    real = np.stack([m, open_mouth(m, 0.1)])
    assert M.mouth_lmd(real, real) == 0.0
    # head translation and scale do not count (mean-centred, IOD-normalised)
    moved = np.stack([face((300, 260), 1.5 * IOD_PX), open_mouth(face((300, 260), 1.5 * IOD_PX), 0.1)])
    assert M.mouth_lmd(moved, real) == pytest.approx(0.0, abs=1e-5)
    # every mouth point 0.05 IOD off along x, except the mean: centred away, so move one point
    gen = real.copy()
    gen[:, M.MOUTH[0], 0] += 0.4 * IOD_PX
    n = len(M.MOUTH)
    # one point moved by d moves the mean by d/n: that point is off by d(1-1/n), the others by d/n
    expect = (0.4 * (1 - 1 / n) + (n - 1) * 0.4 / n) / n
    assert M.mouth_lmd(gen, real) == pytest.approx(expect, rel=1e-3)
    # frames without a face are skipped
    gen[1] = np.nan
    assert np.isfinite(M.mouth_lmd(gen, real))
    assert np.isnan(M.mouth_lmd(np.full_like(gen, np.nan), real))


def test_lmd_to_pixels() -> None:
    # IOD 80 px in a 200 px crop -> 102.4 px at 256: 0.1 IOD = 10.24 px
    assert M.lmd_to_pixels(0.1, 80.0, 200.0, 256) == pytest.approx(10.24)


def test_jitter() -> None:
    m = face()
    steady = np.stack([m + np.array([2.0 * t, 1.0 * t, 0], np.float32) for t in range(10)])  # constant velocity
    assert M.jitter(steady) == pytest.approx(0.0, abs=1e-6)
    shaky = np.stack([m + np.array([(-1) ** t * 0.5, 0, 0], np.float32) for t in range(10)])
    # acceleration of +-0.5 alternation is 4 * 0.5 = 2 px per frame^2 on every landmark
    assert M.jitter(shaky) == pytest.approx(2.0 / IOD_PX, rel=1e-3)
    assert np.isnan(M.jitter(shaky[:2]))


def test_head_pose_std() -> None:
    pose = np.zeros((50, 3), np.float32)
    assert M.head_pose_std(pose) == 0.0
    pose[:, 1] = np.where(np.arange(50) % 2, 3.0, -3.0)  # yaw +-3 deg: std 3 on one axis of three
    pose[3] = np.nan
    assert M.head_pose_std(pose) == pytest.approx(1.0, abs=0.05)


def test_blink_count_and_rate() -> None:
    b = np.full(250, 0.1)  # 10 s at 25 fps, eyes open
    for start in (30, 120, 200):
        b[start:start + 4] = [0.4, 0.8, 0.7, 0.3]
    b[60:62] = 0.25  # a twitch below the rise threshold
    assert M.blink_count(b) == 3
    assert M.blink_rate(b, 25.0) == pytest.approx(18.0)
    assert M.blink_count(np.full(100, 0.6)) == 0  # narrow eyes at rest are not a blink
    assert M.blink_count(np.array([])) == 0


def test_loudness_envelope_timing() -> None:
    sr, fps = 16000, 25.0
    t = np.arange(3 * sr) / sr
    x = 0.001 * np.sin(2 * np.pi * 200 * t)
    x[sr:2 * sr] = 0.5 * np.sin(2 * np.pi * 200 * t[sr:2 * sr])  # loud from 1.0 to 2.0 s
    env = M.loudness_envelope(x.astype(np.float32), sr, fps, 75)
    assert env.shape == (75,) and env.dtype == np.float32
    assert env[27:48].min() == pytest.approx(1.0)
    assert env[:23].max() == 0.0 and env[52:].max() == 0.0
    assert 0.0 < env[25] < 1.0  # the window straddles the onset


def test_loudness_correlation() -> None:
    loud = np.clip(smooth_curve(100), 0, None)
    assert M.loudness_correlation(0.02 + 0.1 * loud, loud) == pytest.approx(1.0)
    assert M.loudness_correlation(np.full(100, 0.02), loud) == 0.0


def test_bilabial_closure() -> None:
    fps = 25.0
    o = np.full(75, 0.15)
    o[20:22] = 0.01  # lips closed around 0.8-0.88 s
    assert M.bilabial_closure(o, [(0.80, 0.86)], fps) == 1.0
    assert M.bilabial_closure(o, [(0.80, 0.86), (2.0, 2.08)], fps) == 0.5
    assert M.bilabial_closure(o, [], fps) is None
    assert M.bilabial_closure(o, [(5.0, 5.1)], fps) is None  # outside the clip


def test_psnr_and_ssim() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    assert M.psnr(a, a) == M.PSNR_CAP
    assert M.ssim(a, a) == pytest.approx(1.0)
    b = a.astype(np.int16)
    b[..., :] += 10
    b = np.clip(b, 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    assert M.psnr(a, b) == pytest.approx(10 * np.log10(255**2 / mse))
    noisy = [np.clip(a + rng.normal(0, s, a.shape), 0, 255).astype(np.uint8) for s in (5, 20, 60)]
    scores = [M.ssim(a, n) for n in noisy]
    assert scores[0] > scores[1] > scores[2] and -1 <= scores[2] < 0.9
    assert M.ssim(a, noisy[1]) == pytest.approx(M.ssim(noisy[1], a))
    with pytest.raises(ValueError):
        M.ssim(a, a[:32])


def test_crop_box_and_face_crop() -> None:
    m = face()
    x0, y0, x1, y1 = M.crop_box(m)
    assert x1 - x0 == y1 - y0
    assert x0 < m[:, 0].min() and x1 > m[:, 0].max() and y0 < m[:, 1].min() and y1 > m[:, 1].max()
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :80] = 255
    crop = M.face_crop(frame, (-40, -40, 200, 200), 64)  # past every border: edges replicated
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert crop[0, 0].tolist() == [255, 255, 255] and crop[-1, -1].tolist() == [0, 0, 0]


def test_leak_is_what_the_dub_keeps_of_the_source_mouth_beyond_the_target() -> None:
    rng = np.random.default_rng(3)
    target = np.convolve(rng.standard_normal(400), np.ones(5) / 5, "same")
    own = np.convolve(rng.standard_normal(400), np.ones(5) / 5, "same")
    source = 0.6 * target + own  # the two real mouths correlate on their own (a shared rhythm)
    follows = target + 0.05 * rng.standard_normal(400)
    assert M.pearson(follows, source) > 0.4  # plain r with the source is high...
    assert abs(M.leak_correlation(follows, source, target)) < 0.15  # ...but nothing of the source leaks
    leaky = target + 0.5 * own
    assert M.leak_correlation(leaky, source, target) > 0.8
    gaps = leaky.copy()
    gaps[::7] = np.nan  # untracked frames are left out, not a failure
    assert M.leak_correlation(gaps, source, target) > 0.8
