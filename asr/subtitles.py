"""Subtitles: recognized words cut into captions and written as SRT or WebVTT.

Captions never span an endpoint: each utterance of the stream (cut after
``EndpointConfig.endpoint_silence_s`` of silence) is segmented on its own,
so a file's captions are written as its utterances finalize and memory stays
bounded however long the recording. Inside an utterance a caption takes
words until the next one would need more than ``max_lines`` lines of
``max_line_chars`` characters or would stretch the caption past
``max_caption_s`` seconds; its lines are then balanced (the narrowest wrap
that still fits in ``max_lines`` lines).

Times come from the word times (seconds from the start of the stream): a
caption starts at its first word's start and ends at its last word's end,
held to at least ``min_caption_s`` when the silence before the next caption
(or the end of the utterance) leaves room, never overlapping the next one.
"""
from dataclasses import dataclass
from typing import List

FORMATS = ("srt", "vtt")


@dataclass(frozen=True)
class CaptionConfig:
    """Limits of one caption: characters per line, lines, seconds on screen."""
    max_line_chars: int = 42
    max_lines: int = 2
    max_caption_s: float = 7.0
    min_caption_s: float = 1.0


@dataclass
class Caption:
    """One caption: start and end in seconds, and its lines of text."""
    start: float
    end: float
    lines: List[str]

    @property
    def text(self):
        return "\n".join(self.lines)


def wrap(words, max_chars, max_lines):
    """Greedy wrap of ``words`` (strings) into lines of at most ``max_chars``
    characters; None when that takes more than ``max_lines`` lines. A word
    longer than ``max_chars`` gets a line of its own."""
    lines = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w) <= max_chars:
            lines[-1] += " " + w
        else:
            lines.append(w)
            if len(lines) > max_lines:
                return None
    return lines


def balanced_lines(words, max_chars, max_lines):
    """The lines of a caption: as few as the greedy wrap at ``max_chars``
    characters needs, at the narrowest width that keeps that many, so a
    two-line caption comes out with lines of similar length."""
    lines = wrap(words, max_chars, max_lines) or wrap(words, max_chars, len(words))
    n = len(lines)
    lo = max(len(w) for w in words)
    hi = max(len(x) for x in lines)
    while lo < hi:
        mid = (lo + hi) // 2
        if wrap(words, mid, n) is None:
            lo = mid + 1
        else:
            hi = mid
    return wrap(words, hi, n)


def fits(words, config):
    """Whether word objects (``.word``, ``.start``, ``.end`` in seconds)
    make one caption within the config's limits."""
    if len(words) <= 1:
        return True
    if words[-1].end - words[0].start > config.max_caption_s:
        return False
    return wrap([w.word for w in words], config.max_line_chars, config.max_lines) is not None


def segment(words, config=CaptionConfig(), end_limit=None):
    """Captions of one utterance's words (objects with ``.word``, ``.start``,
    ``.end`` in seconds, in time order). ``end_limit`` (s): the end of the
    utterance; a short caption is held on screen up to it (or to the next
    caption) for at most ``config.min_caption_s``."""
    groups, cur = [], []
    for w in words:
        if cur and not fits(cur + [w], config):
            groups.append(cur)
            cur = []
        cur.append(w)
    if cur:
        groups.append(cur)
    hold = min(config.min_caption_s, config.max_caption_s)
    captions = []
    for i, g in enumerate(groups):
        start, end = g[0].start, max(g[-1].end, g[0].start)
        limit = groups[i + 1][0].start if i + 1 < len(groups) else end_limit
        if limit is not None and end - start < hold:
            end = max(end, min(start + hold, limit))
        captions.append(Caption(start, end, balanced_lines([w.word for w in g],
                                                            config.max_line_chars, config.max_lines)))
    return captions


def timestamp(seconds, decimal=","):
    """``HH:MM:SS,mmm`` (SRT; ``decimal="."`` for WebVTT) of a time in seconds."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3600000)
    m, ms = divmod(ms, 60000)
    s, ms = divmod(ms, 1000)
    return "%02d:%02d:%02d%s%03d" % (h, m, s, decimal, ms)


class SubtitleWriter:
    """Writes captions to a text file object as they come, numbering them
    and keeping their times in order: a caption never starts before the
    previous one ended (times are rounded to milliseconds first)."""

    decimal = ","

    def __init__(self, out):
        self.out = out
        self.count = 0
        self._last_end_ms = 0

    def begin(self):
        """Write the file header (none for SRT)."""

    def write(self, caption):
        """Write one :class:`Caption`."""
        start_ms = max(int(round(caption.start * 1000)), self._last_end_ms)
        end_ms = max(int(round(caption.end * 1000)), start_ms + 1)
        self._last_end_ms = end_ms
        self.count += 1
        self.out.write(self.cue(self.count, timestamp(start_ms / 1000.0, self.decimal),
                                timestamp(end_ms / 1000.0, self.decimal), caption.lines))
        self.out.flush()

    def cue(self, number, start, end, lines):
        return "%d\n%s --> %s\n%s\n\n" % (number, start, end, "\n".join(lines))


class SrtWriter(SubtitleWriter):
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, text as is."""


class VttWriter(SubtitleWriter):
    """WebVTT: a ``WEBVTT`` header, ``HH:MM:SS.mmm`` times, and the text
    escaped (``&``, ``<``, ``>``), since cue text is markup."""

    decimal = "."

    def begin(self):
        self.out.write("WEBVTT\n\n")
        self.out.flush()

    def cue(self, number, start, end, lines):
        esc = [x.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for x in lines]
        return "%s --> %s\n%s\n\n" % (start, end, "\n".join(esc))


def make_writer(fmt, out):
    """A :class:`SubtitleWriter` for ``fmt`` ('srt' or 'vtt') on ``out``."""
    if fmt not in FORMATS:
        raise ValueError("subtitle format must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    return (SrtWriter if fmt == "srt" else VttWriter)(out)


def utterances(rec, source, block_s=5.0):
    """Final results of a file's utterances, yielded as each one ends
    (``rec`` must endpoint, else the whole file is one utterance). The file
    is read ``block_s`` seconds at a time and results are not kept, so
    memory does not grow with the recording's length."""
    from .audio import iter_audio
    s = None
    for rate, block in iter_audio(source, block_s):
        if s is None:
            s = rec.stream(rate)
        for r in s.accept(block).finals:
            yield r
        del s.results[:]
    s.finish()      # may end more than one utterance: the model's look-ahead frames come out here
    for r in s.results:
        yield r


def write_subtitles(rec, source, out, fmt, config=CaptionConfig(), block_s=5.0):
    """Recognize an audio file (path or file object) and write its captions
    to ``out`` as they finalize. Returns the number of captions."""
    w = make_writer(fmt, out)
    w.begin()
    for r in utterances(rec, source, block_s):
        for c in segment(r.words, config, end_limit=r.end):
            w.write(c)
    return w.count
