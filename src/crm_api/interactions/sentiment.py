"""Sentiment of inbound text, by VADER: a lexicon and rules made for short messages (negation,
intensifiers, punctuation, emoticons), shipped inside its package, so nothing is downloaded."""

from decimal import Decimal
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_of(*texts: str | None) -> Decimal | None:
    """The compound score of the texts together, from -1 (negative) to 1 (positive)."""
    text = " ".join(part for part in texts if part)
    if not text.strip():
        return None
    score = float(_analyzer().polarity_scores(text)["compound"])
    return Decimal(str(round(score, 3)))
