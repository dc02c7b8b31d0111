"""Hotwords (contextual biasing): words and phrases the search should
prefer, e.g. names and jargon an application expects.

Each entry is a word or a phrase with an optional boost in nats at the end
of the line (``"kubernetes"``, ``"smart mirror 6"``); every word of the
entry gets the boost (the largest one when a word is listed twice), scaled
by the word's length: the boost is that of a word of REFERENCE_PHONES
phones, and a word of n phones (its shortest pronunciation) gets boost x n /
REFERENCE_PHONES, at most MAX_SCALE times the boost (:func:`scaled_boost`).
A bonus per phone, as per-token biasing of other recognizers gives, rather
than per word: with one flat boost, short listed words ("hag", "nigh") took
the place of similar short words that were said, and most of the cost of a
list fell on the speech that holds none of its words
(tools/hotword_report.py, model card). The C beam search adds a word's boost
when it closes the word and anticipates it in the look-ahead while the word
is being spelled, so a boosted word is not pruned before it is complete:
biasing happens during the search, with the LM and when streaming, not by
rescoring text afterwards. Words the lexicon lacks are pronounced by the G2P
model and added (asr.g2p).
"""
import math

from .errors import DecoderError
from .text import normalize

REFERENCE_PHONES = 6        # about the mean length of the listed rare words
MAX_SCALE = 2.0

# Chosen with tools/hotword_report.py --choose on cv-valid + so762-valid
# (held out of training), with hotword lists padded to 400 words as the test
# lists are: the largest recall whose WER on utterances without a hotword rose
# at most 0.3 points, at the decoder defaults with the label prior correction
# (2.0: -0.24 and +0.27; 2.5 raised so762-valid's by 0.35). README: results.
DEFAULT_BOOST = 2.0


def parse_hotwords(entries, default=DEFAULT_BOOST):
    """{word: boost in nats} of ``entries``: strings ``"word or phrase
    [boost]"`` or ``(phrase, boost)`` pairs; DecoderError for bad ones."""
    if isinstance(entries, str):
        raise DecoderError("hotwords must be a list of words or phrases, not one string")
    if isinstance(entries, dict):
        entries = list(entries.items())
    boosts = {}
    for entry in entries:
        if isinstance(entry, str):
            text, boost = split_boost(entry, default)
        elif isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str):
            text, boost = entry[0], entry[1]
        else:
            raise DecoderError("a hotword is a string or a (phrase, boost) pair, got %r" % (entry,))
        try:
            boost = float(boost)
        except (TypeError, ValueError):
            raise DecoderError("hotword %r: boost %r is not a number" % (text, boost)) from None
        if not math.isfinite(boost):
            raise DecoderError("hotword %r: the boost must be finite" % (text,))
        words = normalize(text).split()
        if not words:
            raise DecoderError("empty hotword entry %r" % (entry,))
        for w in words:
            boosts[w] = max(boosts.get(w, -math.inf), boost)
    return boosts


def scaled_boost(boost, n_phones):
    """The nats a word of ``n_phones`` phones gets for a hotword ``boost``."""
    return boost * min(MAX_SCALE, n_phones / REFERENCE_PHONES)


def split_boost(line, default):
    """(text, boost) of a line whose last field may be a number."""
    parts = line.split()
    if len(parts) > 1:
        try:
            return " ".join(parts[:-1]), float(parts[-1])
        except ValueError:
            pass
    return line, default
