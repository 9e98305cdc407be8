"""eSpeak NG text to speech with exact per-phone timing (extra ``tts``: ``espeakng-loader``, GPL-3.0).

eSpeak NG speaks more than a hundred languages from a small rule-based engine and reports each
phoneme as it synthesises it (its ``espeakEVENT_PHONEME`` events, with the time in the output),
so no recognition or alignment is needed: the phone timing is exact by construction. The
library and its data come in the ``espeakng-loader`` wheel and are called through ``ctypes``
(the C API of ``speak_lib.h``); phonemes are reported in IPA and mapped here onto our ARPAbet
phone set (:data:`IPA_TO_ARPABET`; sounds English lacks go to the nearest viseme-alike phone).

The engine is a process-wide library: calls are serialised with a lock.
"""

from __future__ import annotations

import ctypes
import threading
import unicodedata
from functools import lru_cache

import numpy as np

from talkinghead.types import InputError, PhoneSegment, PhoneSegments, Speech

#: IPA (as eSpeak NG reports it, stress and length marks removed) -> ARPAbet. Sounds English does
#: not have map to the phone that looks most alike on the lips (rounded front vowels to UW,
#: uvular and velar fricatives to HH, taps and trills to R...).
IPA_TO_ARPABET: dict[str, str] = {
    "i": "IY", "ɪ": "IH", "e": "EH", "ɛ": "EH", "æ": "AE", "a": "AA", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW",
    "ʊ": "UH", "u": "UW", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "y": "UW", "ʏ": "UH",
    "ø": "UW", "œ": "AH", "ɨ": "IH", "ɯ": "UW", "ɤ": "AH",
    "eɪ": "EY", "aɪ": "AY", "ɔɪ": "OY", "aʊ": "AW", "oʊ": "OW", "əʊ": "OW", "ɪə": "IH", "eə": "EH", "ʊə": "UH",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "ɡ": "G", "m": "M", "n": "N", "ŋ": "NG",
    "f": "F", "v": "V", "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "l": "L",
    "ɹ": "R", "r": "R", "ɾ": "R", "ʁ": "R", "ɻ": "R", "j": "Y", "w": "W", "tʃ": "CH", "dʒ": "JH", "ts": "S",
    "dz": "Z", "x": "HH", "χ": "HH", "ç": "HH", "ɣ": "G", "β": "B", "ʋ": "V", "ɲ": "N", "ʎ": "L", "ɕ": "SH",
    "ʑ": "ZH", "ʂ": "SH", "ʐ": "ZH", "tɕ": "CH", "dʑ": "JH", "ʈ": "T", "ɖ": "D", "ɳ": "N", "ɭ": "L", "c": "K",
    "ɟ": "G", "q": "K", "ʔ": "SIL", "ɦ": "HH", "ɬ": "L", "ɫ": "L", "ɥ": "W",
}
#: Stress, length and secondary-articulation marks dropped before the lookup (combining diacritics too).
_MARKS = "ˈˌːˑʰʲʷˠˤ-"

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA, _INIT_DONT_EXIT = 0x0001, 0x0002, 0x8000
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_PARAM_RATE = 1
#: eSpeak's default speaking rate (words per minute); ``rate`` scales it.
DEFAULT_WPM = 175


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_LOCK = threading.Lock()


def ipa_to_arpabet(ipa: str) -> str:
    """One eSpeak IPA phoneme as an ARPAbet phone (``"SIL"`` for an empty one, ``"UNK"`` if unknown)."""
    s = "".join(c for c in unicodedata.normalize("NFD", ipa) if c not in _MARKS and not unicodedata.combining(c))
    s = unicodedata.normalize("NFC", s)
    if not s:
        return "SIL"
    if s in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[s]
    for n in (2, 1):  # a longer unknown symbol: its first known part
        if s[:n] in IPA_TO_ARPABET:
            return IPA_TO_ARPABET[s[:n]]
    return "UNK"


_ENGINE: list[tuple[ctypes.CDLL, int, dict]] = []  # the one initialised library (its callback kept alive here)


def _engine() -> tuple[ctypes.CDLL, int, dict]:
    """Load and initialise the library once per process (under the lock): ``(lib, sample rate, callback state)``."""
    with _LOCK:
        if not _ENGINE:
            _ENGINE.append(_load())
        return _ENGINE[0]


def _load() -> tuple[ctypes.CDLL, int, dict]:
    try:
        import espeakng_loader
    except ImportError as e:
        raise InputError("eSpeak NG needs the optional 'tts' extra: pip install 'talkinghead[tts]'") from e
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
    for name in ("espeak_SetVoiceByName", "espeak_SetParameter", "espeak_Synth", "espeak_Synchronize"):
        getattr(lib, name).restype = ctypes.c_int
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
                                 _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT)
    if rate <= 0:
        raise InputError("eSpeak NG could not be initialised")
    state: dict = {"audio": [], "events": []}

    def on_synth(wav: ctypes.POINTER(ctypes.c_short), n: int, events: ctypes.POINTER(_Event)) -> int:
        if n > 0:
            state["audio"].append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                state["events"].append((e.sample, e.id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    state["callback"] = _CALLBACK(on_synth)  # kept alive as long as the library
    lib.espeak_SetSynthCallback(state["callback"])
    return lib, int(rate), state


@lru_cache(maxsize=1)
def languages() -> frozenset[str]:
    """The eSpeak NG language names installed (lower case: ``en-us``, ``de``, ``ja``...)."""
    from pathlib import Path

    import espeakng_loader

    root = Path(espeakng_loader.get_data_path()) / "lang"
    return frozenset(p.name.lower() for p in root.rglob("*") if p.is_file())


@lru_cache(maxsize=1)
def variants() -> dict[str, str]:
    """The eSpeak NG voice variants installed: lower-case name -> the file's own spelling
    (``m3``, ``f2``, ``croak``, ``annie`` -> ``Annie``...; the engine needs the exact spelling)."""
    from pathlib import Path

    import espeakng_loader

    root = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return {p.name.lower(): p.name for p in root.iterdir() if p.is_file()} if root.is_dir() else {}


def speak(text: str, language: str = "en-us", rate: float = 1.0) -> tuple[Speech, PhoneSegments]:
    """Synthesise ``text`` in ``language`` (an eSpeak NG voice name: ``en-us``, ``de``, ``ja``...,
    optionally with a voice variant: ``en-us+f2``, ``de+m3``).

    Returns:
        ``(speech, phones)``: mono float32 speech at 22 050 Hz and its phones in ARPAbet with the
        engine's own timing (``source="tts"``; each phone lasts until the next begins).
    Raises:
        InputError: the engine is not installed, or an unknown language or variant.
    """
    lib, sr, state = _engine()
    lang, _, variant = language.partition("+")
    if lang.lower() not in languages():
        raise InputError(f"unknown eSpeak NG language {lang!r} (e.g. en-us, en, de, fr, es, ja, cmn)")
    if variant:
        if variant.lower() not in variants():
            raise InputError(f"unknown eSpeak NG voice variant {variant!r} (e.g. m3, f2, croak, klatt)")
        language = f"{lang}+{variants()[variant.lower()]}"  # any case given; the file's spelling used
    with _LOCK:
        if lib.espeak_SetVoiceByName(language.encode()) != 0:
            raise InputError(f"eSpeak NG cannot load the language {language!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(round(DEFAULT_WPM * rate)), 0)
        state["audio"], state["events"] = [], []
        data = text.encode("utf-8")
        if lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None) != 0:
            raise InputError("eSpeak NG could not synthesise the text")
        lib.espeak_Synchronize()
        audio, events = state["audio"], state["events"]
    x = (np.concatenate(audio).astype(np.float32) / 32768.0) if audio else np.zeros(0, np.float32)
    ends = [s for s, _ in events[1:]] + [len(x)]
    segs = tuple(PhoneSegment(ipa_to_arpabet(p), s / sr, e / sr) for (s, p), e in zip(events, ends) if e > s)
    return Speech(samples=np.clip(x, -1.0, 1.0), sample_rate=sr), PhoneSegments(segs, "tts")
