"""Transcript text for forced alignment: words as the pronouncing dictionary spells them.

:func:`normalize_transcript` lowercases, spells out numbers, ordinals and symbols
("21st" -> "twenty first", "&" -> "and") and drops punctuation, so that a user's
``--transcript`` finds its words in pocketsphinx's CMU dictionary
(:mod:`talkinghead.audio.phones`).
"""

from __future__ import annotations

import re
import unicodedata

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}


def _number_words(n: int) -> list[str]:
    """English words for a non-negative integer; years read as pairs, long numbers digit by digit."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])
    if n < 10000:
        hi, lo = divmod(n, 100)
        if (1100 <= n < 2000 or 2010 <= n < 2100) and lo:  # 1961 -> nineteen sixty one
            return _number_words(hi) + (["oh"] if lo < 10 else []) + _number_words(lo)
        if 1100 <= n < 2000 and not lo:  # 1900 -> nineteen hundred
            return _number_words(hi) + ["hundred"]
        th, rest = divmod(n, 1000)
        return _number_words(th) + ["thousand"] + (_number_words(rest) if rest else [])
    return [_ONES[int(d)] for d in str(n)]


def normalize_transcript(text: str) -> list[str]:
    """Split text into lowercase words as spelled in the pronouncing dictionary.

    Accents are removed (NFKD), curly apostrophes straightened, word-internal apostrophes kept
    ("don't"), other punctuation and hyphens separate words, ``& % + @ =`` become words, and
    numbers are spelled out (0-9999 as English words, "1961" as "nineteen sixty one", "2nd" as
    "second", decimals as "three point five", longer numbers digit by digit). Letters outside a-z are dropped.

    Args:
        text: any Unicode text.

    Returns:
        Words, possibly empty.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for sym, word in _SYMBOLS.items():
        text = text.replace(sym, word)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"(\d+)\.(\d+)", lambda m: f"{m.group(1)} point {' '.join(m.group(2))}", text)
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)  # 2nd -> 2 nd, mp3 -> mp 3
    words: list[str] = []
    prev_digit = False
    for token in re.findall(r"[a-z0-9']+", text):
        token = token.strip("'")
        if not token:
            continue
        if token.isdigit():
            words.extend(_number_words(int(token)))
        elif token in _ORDINAL_SUFFIXES and words and prev_digit:
            words[-1] = _ordinal(words[-1])
        else:
            words.append(token)
        prev_digit = token.isdigit()
    return words


_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth", "twenty": "twentieth", "thirty": "thirtieth",
    "forty": "fortieth", "fifty": "fiftieth", "sixty": "sixtieth", "seventy": "seventieth",
    "eighty": "eightieth", "ninety": "ninetieth",
}


def _ordinal(word: str) -> str:
    """Cardinal number word -> ordinal ("two" -> "second", "four" -> "fourth")."""
    return _ORDINALS.get(word, word + "th")
