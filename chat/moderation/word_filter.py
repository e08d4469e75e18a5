"""Words kept out of chat: profanity masked by glin-profanity, a channel's own list refused.

Profanity is masked rather than refused: a general word list misfires often enough that
blocking would silence ordinary people, while a channel's own banned words are the owner's
explicit choice, so a message that uses one is refused with a reason. Both match whole words,
case-insensitively (glin-profanity also sees through leetspeak and spacing).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from glin_profanity import Filter

MASK = "***"
MAX_WORD_LENGTH = 50


def normalise_word(word: str) -> str:
    """A banned word as stored and matched: NFKC, case-folded, trimmed; ValueError if empty
    or too long."""
    word = unicodedata.normalize("NFKC", word).casefold().strip()
    if not word or len(word) > MAX_WORD_LENGTH:
        raise ValueError(f"a banned word has 1 to {MAX_WORD_LENGTH} characters")
    return word


@lru_cache(maxsize=1024)
def _banned_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def banned_word_in(text: str, words: frozenset[str]) -> str | None:
    """The first of the channel's banned words the text uses, if any."""
    if not words:
        return None
    found = _banned_pattern(words).search(unicodedata.normalize("NFKC", text).casefold())
    return found.group(0) if found else None


class ProfanityMask:
    """Masks profanity, leaving words without letters alone: the leetspeak detection reads
    digits as letters, so "85" is "bs" and a score or a time would be masked. Such tokens
    stand aside under letter-only stand-ins while the filter reads the text, then return."""

    def __init__(self, enabled: bool) -> None:
        self._filter = (
            Filter({"languages": ["english"], "replace_with": MASK, "detect_leetspeak": True})
            if enabled
            else None
        )

    def __call__(self, text: str) -> str:
        if self._filter is None:
            return text
        aside: dict[str, str] = {}

        def stand_in(found: re.Match[str]) -> str:
            token = found.group(0)
            if any(ch.isalpha() for ch in token):
                return token
            key = _stand_in(len(aside))
            aside[key] = token
            return key

        screened = _TOKEN.sub(stand_in, text)
        result = self._filter.check_profanity(screened)
        if not result["contains_profanity"]:
            return text
        masked = str(result.get("processed_text", screened))
        for key, token in aside.items():
            masked = masked.replace(key, token)
        return masked


_TOKEN = re.compile(r"\S+")


def _stand_in(index: int) -> str:
    """A letter-only word no filter list holds, of fixed width (so none is a prefix of another)."""
    letters = "".join(chr(ord("a") + (index // 26**i) % 26) for i in range(4))
    return f"zqxj{letters}"
