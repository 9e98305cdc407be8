"""Evaluation metrics on face tracks and frames: lip-sync, landmark accuracy, stability, image quality.

Pure numpy/scipy (OpenCV only to crop and resize frames). Definitions follow DESIGN.md
("Evaluation"); every function states its units. Landmark inputs are MediaPipe meshes in image
pixels, float ``[F, 478, 2+]``, with NaN rows for frames without a face: metrics skip those
frames (or frame pairs) rather than fail.

Conventions:

- Face size is the inter-ocular distance (IOD): the distance between the outer eye corners
  (landmarks 33 and 263), in pixels.
- Mouth opening is the inner-lip gap divided by the IOD (dimensionless; about 0.0-0.02 with
  closed lips and 0.1-0.4 with an open mouth).
- An offset ``k > 0`` means the generated mouth moves ``k`` frames *later* than the real one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from talkinghead.face.regions import (
    LEFT_EYE_OUTER,
    LOWER_INNER_LIP,
    LOWER_OUTER_LIP,
    RIGHT_EYE_OUTER,
    UPPER_INNER_LIP,
    UPPER_OUTER_LIP,
)
from talkinghead.face.track import blink_count, blink_rate  # noqa: F401 (metrics of a track, measured where tracks are made)

#: Mouth landmarks for LMD: the outer and inner lip contours (40 distinct points).
MOUTH = tuple(sorted(set(UPPER_OUTER_LIP + LOWER_OUTER_LIP + UPPER_INNER_LIP + LOWER_INNER_LIP)))
#: Central inner-lip pairs (upper, lower) whose distances make the mouth opening.
GAP_PAIRS = tuple(zip(UPPER_INNER_LIP[3:8], LOWER_INNER_LIP[3:8]))
#: Mouth opening (inner-lip gap / IOD) at or below which the lips count as closed.
CLOSED_OPENING = 0.04
#: Standard deviation of mouth opening (IOD units) below which a mouth counts as still: MediaPipe's
#: own noise on a repeated still frame is 3e-5 to 5e-4 (GRID), real speech about 0.04-0.06.
STILL_STD = 2e-3
#: Largest correlation lag searched for the audio-visual offset (frames).
MAX_LAG = 10
#: PSNR of identical images (dB): the cap that keeps reports finite.
PSNR_CAP = 100.0
#: Phones that close the lips (ARPAbet).
BILABIALS = ("P", "B", "M")


# -- geometry ---------------------------------------------------------------------------


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Inter-ocular distance (outer eye corners) in pixels.

    Args:
        landmarks: float ``[..., 478, 2+]`` pixels.
    Returns:
        float64 ``[...]`` (NaN where the landmarks are NaN).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    d = lm[..., LEFT_EYE_OUTER, :2] - lm[..., RIGHT_EYE_OUTER, :2]
    return np.hypot(d[..., 0], d[..., 1])


def offset_opening(offsets: np.ndarray) -> np.ndarray:
    """Mouth opening of landmark offsets: the mean inner-lip gap (lower minus upper, y) over the
    five central lip pairs, float ``[...]`` in IOD units (the neutral mesh cancels).

    Args:
        offsets: float ``[..., 478, 3]`` offsets from a neutral mesh, face-normalised (IOD units).
    """
    o = np.asarray(offsets)
    return np.mean([o[..., lo, 1] - o[..., up, 1] for up, lo in GAP_PAIRS], axis=0)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Mouth opening per frame: mean inner-lip gap over the five central lip pairs, divided by the IOD.

    Args:
        landmarks: float ``[F, 478, 2+]`` pixels (NaN rows allowed).
    Returns:
        float64 ``[F]``, dimensionless (gap in IOD units), NaN where no face.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    up = lm[:, [u for u, _ in GAP_PAIRS], :2]
    lo = lm[:, [d for _, d in GAP_PAIRS], :2]
    gap = np.linalg.norm(lo - up, axis=-1).mean(axis=1)
    return gap / inter_ocular(lm)


# -- lip sync ---------------------------------------------------------------------------


def pearson(x: np.ndarray, y: np.ndarray, min_std: float = 1e-9) -> float:
    """Pearson correlation of two curves over the frames where both are finite.

    A (near-)constant curve carries no timing information: its correlation is defined as 0.

    Args:
        x, y: float ``[F]`` (same length; NaN marks missing frames).
        min_std: standard deviation at or below which a curve counts as constant.
    Returns:
        r in [-1, 1]; 0.0 with fewer than 3 common frames or a constant curve.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"curves differ in length: {x.shape} vs {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return 0.0
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    sx, sy = np.sqrt((x * x).mean()), np.sqrt((y * y).mean())
    if sx <= min_std or sy <= min_std:
        return 0.0
    return float(np.clip((x * y).mean() / (sx * sy), -1.0, 1.0))


def mouth_correlation(generated: np.ndarray, real: np.ndarray, min_std: float = STILL_STD) -> float:
    """Lip-sync against ground truth: Pearson r of generated and real mouth opening at lag 0.

    A mouth whose opening varies less than ``min_std`` (tracker noise on a still image) has
    no motion to correlate: r = 0.

    Args:
        generated, real: float ``[F]`` mouth-opening curves (:func:`mouth_opening`).
        min_std: still-mouth threshold (IOD units).
    Returns:
        r in [-1, 1] (1 = the generated mouth opens and closes exactly when the real one does).
    """
    return pearson(generated, real, min_std)


def leak_correlation(generated: np.ndarray, source: np.ndarray, target: np.ndarray, min_std: float = STILL_STD) -> float:
    """How much of a dubbed video's own mouth shows through the dub: the partial Pearson r of the generated
    mouth opening with the source video's, given the target's (the real mouth of the new speech).

    Cross-dubbing (clip A's video made to say clip B's speech) is scored against B, but A's and B's real
    mouths correlate on their own (GRID's sentences share a rhythm), so r with A mixes leak with that;
    ``r_GA.B = (r_GA - r_GB r_AB) / sqrt((1 - r_GB^2) (1 - r_AB^2))`` leaves out what B explains.

    Args:
        generated, source, target: float ``[F]`` mouth-opening curves (:func:`mouth_opening`); frames
            where any is NaN are left out.
        min_std: still-mouth threshold (IOD units), as :func:`mouth_correlation`.
    Returns:
        r in [-1, 1]: 0 = nothing of the source's mouth beyond what the target explains; 0.0 where a curve
        is still, fewer than 3 frames are common, or the target explains a curve entirely.
    """
    g, a, b = (np.asarray(c, np.float64) for c in (generated, source, target))
    if not g.shape == a.shape == b.shape:
        raise ValueError(f"curves differ in length: {g.shape}, {a.shape}, {b.shape}")
    ok = np.isfinite(g) & np.isfinite(a) & np.isfinite(b)
    g, a, b = g[ok], a[ok], b[ok]
    r_ga, r_gb, r_ab = pearson(g, a, min_std), pearson(g, b, min_std), pearson(a, b, min_std)
    den = (1.0 - r_gb * r_gb) * (1.0 - r_ab * r_ab)
    if den <= 1e-12:
        return 0.0
    return float(np.clip((r_ga - r_gb * r_ab) / np.sqrt(den), -1.0, 1.0))


def lagged_correlation(generated: np.ndarray, real: np.ndarray, max_lag: int = MAX_LAG,
                       min_std: float = STILL_STD) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r between ``real[t]`` and ``generated[t + lag]`` for every lag in ``[-max_lag, max_lag]``.

    Args:
        generated, real: float ``[F]`` curves (e.g. :func:`mouth_opening`), same length.
        max_lag: largest lag in frames (>= 0).
        min_std: standard deviation below which a curve counts as constant (r = 0).
    Returns:
        ``(lags int [2L+1], r float64 [2L+1])``; r is 0 where fewer than 3 frames overlap.
    """
    g = np.asarray(generated, dtype=np.float64)
    r = np.asarray(real, dtype=np.float64)
    if g.shape != r.shape:
        raise ValueError(f"curves differ in length: {g.shape} vs {r.shape}")
    n = len(r)
    lags = np.arange(-max_lag, max_lag + 1)
    out = np.zeros(len(lags))
    for i, lag in enumerate(lags):
        if abs(lag) >= n:
            continue
        if lag >= 0:
            out[i] = pearson(g[lag:], r[:n - lag], min_std)
        else:
            out[i] = pearson(g[:n + lag], r[-lag:], min_std)
    return lags, out


def av_offset(generated: np.ndarray, real: np.ndarray, max_lag: int = MAX_LAG,
              min_std: float = STILL_STD) -> tuple[int | None, float]:
    """Audio-visual offset: the lag (frames) that maximises the mouth-opening correlation.

    In self-reenactment the real video is in sync with the audio, so the lag between generated
    and real mouth opening is the generated video's audio-visual offset. Ties go to the
    smallest absolute lag.

    Args:
        generated, real: float ``[F]`` mouth-opening curves.
        max_lag: search range in frames (``[-max_lag, max_lag]``).
        min_std: still-mouth threshold (IOD units).
    Returns:
        ``(lag, r)``: lag in frames (> 0: the generated mouth moves later than the real one,
        i.e. lags the audio) and the correlation at that lag; ``(None, 0.0)`` when either
        mouth is still (no motion, no timing).
    """
    g = np.asarray(generated, dtype=np.float64)
    r = np.asarray(real, dtype=np.float64)
    if not (np.nanstd(g) > min_std and np.nanstd(r) > min_std):
        return None, 0.0
    lags, rs = lagged_correlation(g, r, max_lag, min_std)
    best = max(range(len(lags)), key=lambda i: (round(float(rs[i]), 9), -abs(int(lags[i]))))
    return int(lags[best]), float(rs[best])


def loudness_envelope(samples: np.ndarray, sample_rate: int, fps: float, num_frames: int,
                      window_s: float = 0.04, range_db: float = 30.0) -> np.ndarray:
    """Audio loudness at video frame times, normalised to [0, 1] (the "loudness-only mouth" drive).

    RMS level (dBFS) over a window centred on each frame time ``k / fps``, mapped linearly so
    that 1 is the loud speech level (95th percentile of the frames) and 0 is ``range_db`` below it.

    Args:
        samples: float ``[N]`` mono audio in [-1, 1].
        sample_rate: Hz (> 0).
        fps: video frame rate (Hz).
        num_frames: F, number of video frames.
        window_s: analysis window (seconds).
        range_db: dynamic range mapped onto [0, 1] (dB).
    Returns:
        float32 ``[F]`` in [0, 1].
    """
    x = np.asarray(samples, dtype=np.float64)
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    t = np.arange(num_frames) / fps
    half = window_s / 2.0
    lo = np.clip(np.round((t - half) * sample_rate).astype(int), 0, len(x))
    hi = np.clip(np.round((t + half) * sample_rate).astype(int), 0, len(x))
    n = np.maximum(hi - lo, 1)
    power = np.where(hi > lo, (c[hi] - c[lo]) / n, 0.0)
    db = 10.0 * np.log10(power + 1e-10)
    ref = float(np.percentile(db, 95)) if num_frames else 0.0
    return np.clip((db - (ref - range_db)) / range_db, 0.0, 1.0).astype(np.float32)


def loudness_correlation(opening: np.ndarray, loudness: np.ndarray, min_std: float = STILL_STD) -> float:
    """No-ground-truth lip-sync: Pearson r between mouth opening and audio loudness, per clip.

    Real speakers score about 0.4-0.6 on GRID and lower on spontaneous speech; a mouth that only
    follows loudness scores high here without being right, so read it with bilabial closure.

    Args:
        opening: float ``[F]`` mouth opening (:func:`mouth_opening`).
        loudness: float ``[F]`` loudness at the same frames (:func:`loudness_envelope`).
        min_std: still-mouth threshold (IOD units).
    Returns:
        r in [-1, 1] (0 for a still mouth).
    """
    return pearson(opening, loudness, min_std)


def bilabial_closure(opening: np.ndarray, events: Sequence[tuple[float, float]], fps: float,
                     closed: float = CLOSED_OPENING, slack_frames: int = 1) -> float | None:
    """Share of bilabial events (p, b, m) during which the lips actually close.

    A bilabial is a full lip closure however short it is (DESIGN.md, "The rule path"), so an
    event counts as hit when the mouth opening falls to ``closed`` or below at some frame in
    ``[start - slack, end + slack]``.

    Args:
        opening: float ``[F]`` mouth opening (:func:`mouth_opening`), NaN where no face.
        events: ``(start_s, end_s)`` of each bilabial phone (or a bilabial word onset), seconds.
        fps: frame rate of ``opening``.
        closed: opening (gap / IOD) at or below which the lips are closed.
        slack_frames: frames of tolerance on each side.
    Returns:
        Hit rate in [0, 1], or None when there is no event inside the clip.
    """
    o = np.asarray(opening, dtype=np.float64)
    hits, total = 0, 0
    for start, end in events:
        a = max(0, int(np.floor(start * fps)) - slack_frames)
        b = min(len(o), int(np.ceil(end * fps)) + slack_frames + 1)
        seg = o[a:b]
        seg = seg[np.isfinite(seg)]
        if seg.size == 0:
            continue
        total += 1
        hits += int(seg.min() <= closed)
    return hits / total if total else None


# -- landmark accuracy and stability ----------------------------------------------------


def mouth_lmd(generated: np.ndarray, real: np.ndarray) -> float:
    """Mouth landmark distance (LMD, Chen et al., ECCV 2018, on MediaPipe's lip contours).

    Per frame, each mesh's 40 mouth landmarks are centred on their own mean (removing head
    translation) and divided by that mesh's IOD; LMD is the mean Euclidean distance between
    corresponding points, averaged over points and over frames where both meshes exist.

    Args:
        generated, real: float ``[F, 478, 2+]`` pixels (NaN rows allowed), same F.
    Returns:
        LMD in IOD units (0 = identical mouth shapes; NaN if no frame has both faces).
        Multiply by the IOD of a 256-pixel face crop (:func:`lmd_to_pixels`) to compare with
        papers that report pixels.
    """
    g = np.asarray(generated, dtype=np.float64)[:, list(MOUTH), :2]
    r = np.asarray(real, dtype=np.float64)[:, list(MOUTH), :2]
    if g.shape != r.shape:
        raise ValueError(f"landmark arrays differ: {g.shape} vs {r.shape}")
    gi, ri = inter_ocular(generated), inter_ocular(real)
    ok = np.isfinite(g).all(axis=(1, 2)) & np.isfinite(r).all(axis=(1, 2)) & (gi > 0) & (ri > 0)
    if not ok.any():
        return float("nan")
    g = (g[ok] - g[ok].mean(axis=1, keepdims=True)) / gi[ok, None, None]
    r = (r[ok] - r[ok].mean(axis=1, keepdims=True)) / ri[ok, None, None]
    return float(np.linalg.norm(g - r, axis=-1).mean())


def lmd_to_pixels(lmd_iod: float, iod_px: float, crop_px: float, out_px: int = 256) -> float:
    """Convert an LMD in IOD units to pixels of a face crop resized to ``out_px`` x ``out_px``.

    Args:
        lmd_iod: LMD in IOD units (:func:`mouth_lmd`).
        iod_px: the face's IOD in the original frames (pixels).
        crop_px: side of the square face crop in the original frames (pixels, > 0).
        out_px: side the crop is resized to (256 in most papers).
    Returns:
        LMD in pixels at ``out_px`` squared.
    """
    return float(lmd_iod * iod_px * out_px / crop_px)


def jitter(landmarks: np.ndarray) -> float:
    """Mean magnitude of landmark acceleration (second difference of 2-D positions).

    Args:
        landmarks: float ``[F, 478, 2+]`` pixels (NaN rows allowed).
    Returns:
        IOD units per frame squared, averaged over landmarks and over frames whose neighbours
        both have a face; NaN with fewer than 3 consecutive tracked frames. Compare a generated
        clip with its real counterpart as a ratio.
    """
    lm = np.asarray(landmarks, dtype=np.float64)[..., :2]
    if lm.shape[0] < 3:
        return float("nan")
    acc = lm[2:] - 2.0 * lm[1:-1] + lm[:-2]
    mag = np.linalg.norm(acc, axis=-1).mean(axis=1) / inter_ocular(lm[1:-1])
    mag = mag[np.isfinite(mag)]
    return float(mag.mean()) if mag.size else float("nan")


def head_pose_std(pose: np.ndarray) -> float:
    """Head-motion amplitude: standard deviation of pitch, yaw and roll over time, averaged over the three.

    Args:
        pose: float ``[F, 3]`` degrees (NaN rows allowed).
    Returns:
        Degrees (NaN with fewer than 2 tracked frames).
    """
    p = np.asarray(pose, dtype=np.float64)
    p = p[np.isfinite(p).all(axis=1)]
    if len(p) < 2:
        return float("nan")
    return float(p.std(axis=0).mean())


# -- image quality ----------------------------------------------------------------------


def crop_box(landmarks: np.ndarray, scale: float = 1.25) -> tuple[int, int, int, int]:
    """Square face crop around a mesh: ``scale`` times the larger side of its bounding box.

    Args:
        landmarks: float ``[478, 2+]`` pixels.
        scale: box side relative to the face's extent.
    Returns:
        ``(x0, y0, x1, y1)`` integer pixels, square; may extend past the image.
    """
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    half = max(1, int(round(float(max(hi - lo)) * scale / 2.0)))
    cx, cy = (lo + hi) / 2.0
    x0, y0 = int(round(cx)) - half, int(round(cy)) - half
    return (x0, y0, x0 + 2 * half, y0 + 2 * half)


def face_crop(frame: np.ndarray, box: tuple[int, int, int, int], size: int = 256) -> np.ndarray:
    """Cut a square box out of a frame (replicating edge pixels past the border) and resize it.

    Args:
        frame: uint8 ``[H, W, 3]``.
        box: ``(x0, y0, x1, y1)`` pixels.
        size: output side in pixels.
    Returns:
        uint8 ``[size, size, 3]``.
    """
    import cv2

    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    src = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else frame
    crop = src[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio between two images of the same shape.

    Args:
        a, b: uint8 (or float on the same scale as ``peak``) arrays of equal shape.
        peak: largest possible value (255 for uint8).
    Returns:
        dB, capped at :data:`PSNR_CAP` (100) for identical images.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    if mse <= peak * peak * 10 ** (-PSNR_CAP / 10):
        return PSNR_CAP
    return float(10.0 * np.log10(peak * peak / mse))


def _luma(img: np.ndarray) -> np.ndarray:
    x = np.asarray(img, dtype=np.float64)
    if x.ndim == 3:
        x = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114
    return x


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0, sigma: float = 1.5) -> float:
    """Structural similarity (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004) on luma.

    Gaussian window (sigma 1.5, 11 taps), K1 = 0.01, K2 = 0.03; RGB is converted to luma
    (ITU-R BT.601 weights) first; the SSIM map is averaged away from a 5-pixel border.

    Args:
        a, b: uint8 ``[H, W, 3]`` RGB or ``[H, W]`` grey images of equal shape (at least 11x11).
        peak: dynamic range (255 for uint8).
        sigma: Gaussian window standard deviation (pixels).
    Returns:
        Mean SSIM in [-1, 1] (1 for identical images).
    """
    import cv2

    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    pad = int(3.5 * sigma + 0.5)
    k = 2 * pad + 1

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (k, k), sigma, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    if s.shape[0] > 2 * pad and s.shape[1] > 2 * pad:
        s = s[pad:-pad, pad:-pad]
    return float(s.mean())


# -- identity ---------------------------------------------------------------------------


def identity_distance(reference: np.ndarray, reference_landmarks: np.ndarray,
                      frames: Sequence[np.ndarray], frame_landmarks: Sequence[np.ndarray]) -> float | None:
    """Identity drift: mean distance between the face embeddings of frames and of the source portrait.

    Uses dlib's face-recognition ResNet (128-D embeddings; distance below 0.6 means "same
    person" in dlib's benchmark), with face boxes from the MediaPipe meshes. Needs the optional
    ``dlib-bin`` and ``face-recognition-models`` packages (``pip install talkinghead[eval]``).

    Args:
        reference: uint8 ``[H, W, 3]`` RGB source portrait.
        reference_landmarks: float ``[478, 2+]`` its mesh (pixels).
        frames: uint8 RGB frames to compare.
        frame_landmarks: float ``[478, 2+]`` mesh per frame (NaN meshes are skipped).
    Returns:
        Mean Euclidean embedding distance (0 = same embedding), or None when dlib or its model
        files are not installed, or no frame has a face.
    """
    from talkinghead.eval.identity import identity_model

    model = identity_model()
    if model is None:
        return None
    ref = model.embed(reference, reference_landmarks)
    dists = [float(np.linalg.norm(model.embed(f, lm) - ref))
             for f, lm in zip(frames, frame_landmarks) if np.isfinite(lm).all()]
    return float(np.mean(dists)) if dists else None
