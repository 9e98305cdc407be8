"""Audio analysis: frame features (mel, loudness, pitch, formants), voice activity, and phones.

- :func:`compute_features` -> :class:`~talkinghead.types.AudioFeatures` at 100 Hz.
- :func:`speech_activity` -> bool ``[T]`` voice activity from those features.
- :func:`align` / :func:`align_transcript` -> words and phones of a known transcript
  (pocketsphinx forced alignment).
- :func:`recognize` / :func:`recognize_phones` -> phones without a transcript (English word
  recognition), with a reliability flag for falling back to the acoustic path.
"""

from __future__ import annotations

from talkinghead.audio.features import compute_features, mel_filterbank, speech_activity
from talkinghead.audio.phones import AlignedTranscript, AlignmentError, WordSegment, align, align_transcript
from talkinghead.audio.recognition import Recognition, RecognitionConfig, recognize, recognize_phones
from talkinghead.audio.transcript import normalize_transcript

__all__ = [
    "AlignedTranscript",
    "AlignmentError",
    "Recognition",
    "RecognitionConfig",
    "WordSegment",
    "align",
    "align_transcript",
    "compute_features",
    "mel_filterbank",
    "normalize_transcript",
    "recognize",
    "recognize_phones",
    "speech_activity",
]
