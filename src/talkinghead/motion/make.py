"""The configured motion model run on analysed speech: the one place ``--motion auto|learned|rules`` is decided."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from talkinghead.types import InputError, MotionSequence

if TYPE_CHECKING:
    from talkinghead.analysis import Analysis
    from talkinghead.motion.learned import LearnedMotion
    from talkinghead.pipeline import GenerateConfig, StageTimes

log = logging.getLogger("talkinghead")


def make_motion(analysis: Analysis, config: GenerateConfig, times: StageTimes | None = None,
                model: LearnedMotion | None = None) -> MotionSequence:
    """The MotionSequence for analysed speech, by the configured motion model (:func:`make_motion_pieces`, joined).

    Raises:
        InputError: ``motion="learned"`` but the learned model's weights are not installed.
    """
    pieces = list(make_motion_pieces(analysis, config, times, model))
    return pieces[0] if len(pieces) == 1 else MotionSequence.concatenate(pieces)


def motion_model(config: GenerateConfig) -> str:
    """The motion model ``config.motion`` stands for: ``"learned"`` or ``"rules"``.

    ``auto`` is the learned model wherever it is installed: it follows real faces better than the
    rules with phones and without them, on every set with ground truth (`talkinghead eval`: GRID
    test, unseen GRID speakers, noisy GRID, interview clips); the rules drive the face only where
    it is not installed.
    """
    from talkinghead.motion.learned import learned_available

    if config.motion == "auto":
        return "learned" if learned_available() else "rules"
    return config.motion


def load_motion_model(config: GenerateConfig) -> None:
    """Load what :func:`make_motion_pieces` will run for ``config`` now (the learned model's ONNX session,
    cached per process; the head-pose and rule modules), so that a caller can do it while it waits for
    the speech analysis. Never raises: a missing model is reported by :func:`make_motion_pieces`."""
    import importlib

    from talkinghead.motion.learned import LearnedMotion, learned_available

    importlib.import_module("talkinghead.motion.rules")  # head pose and blinks
    if motion_model(config) == "learned" and learned_available():
        try:
            LearnedMotion.from_file()
        except Exception:  # reported where the model is used
            log.debug("motion model not preloaded", exc_info=True)


def make_motion_pieces(analysis: Analysis, config: GenerateConfig,
                       times: StageTimes | None = None, model: LearnedMotion | None = None) -> Iterator[MotionSequence]:
    """The motion for analysed speech in consecutive pieces, each made when it is asked for (timed as ``motion``).

    The learned model runs one window of :data:`~talkinghead.motion.learned.WINDOW_S` at a time
    (:func:`~talkinghead.motion.learned.learned_motion_pieces`), so a long utterance's motion is
    never held whole; the rules make one piece. ``model``: the learned model to run where the
    configuration asks for it (a person's fine-tuned one, :func:`talkinghead.person.model.person_motion`);
    None: the shipped one.

    Raises:
        InputError: ``motion="learned"`` but the learned model's weights are not installed.
    """
    from talkinghead.motion.learned import LearnedMotion, learned_available, learned_motion_pieces
    from talkinghead.motion.rules import rule_motion

    t = time.perf_counter()
    mc = config.motion_config()
    if motion_model(config) == "learned":
        if not learned_available():
            raise InputError("--motion learned: the learned model's weights are not installed")
        pieces = learned_motion_pieces(model or LearnedMotion.from_file(), analysis.features, analysis.phones, analysis.active,
                                       analysis.speech.duration_s, mc)
    else:
        pieces = iter([rule_motion(analysis.features, analysis.phones, analysis.active, analysis.speech.duration_s, mc)])
    source = None
    while True:
        piece = next(pieces, None)
        if times is not None:
            times.add("motion", time.perf_counter() - t)
        if piece is None:
            return
        if source is None:
            source = piece.source
            log.info("motion: %s (phones: %s)", source, analysis.phones.source)
        yield piece
        t = time.perf_counter()
