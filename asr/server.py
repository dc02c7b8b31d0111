"""asr-serve: streaming recognition over WebSocket, speaking Vosk's protocol.

One shared, immutable :class:`~asr.stream.Recognizer` (one per precision
and phrase list, made on first use); one :class:`~asr.stream.Stream` per
connection. The protocol is Vosk's, so its clients work unchanged::

    client: {"config": {"sample_rate": 16000}}    optional, before the audio
    client: binary message: int16 little-endian mono PCM (any length)
    server: {"partial": "two nine"}                one reply per binary message, or
    server: {"result": [{"word", "start", "end", "conf"}, ...], "text": "..."}
                                                   when an utterance ended in it
    client: {"eof": 1}
    server: the final result, then a normal close (1000)

Config keys: ``sample_rate`` (Hz, any integer rate the resampler handles
in bounded memory), ``words`` (include the ``result`` word list, default
true), ``max_alternatives`` (n-best: adds ``alternatives``
[{"text", "confidence"}], confidence being the total log score in nats),
``phrase_list`` (only these phrases can be recognized, other speech gives
an empty text as with ``--reject``; Vosk's "[unk]" entry is ignored), ``hotwords`` (words or phrases to favour, each with an
optional boost, as the lines of --hotwords; lexicon words only),
``precision`` ("float", "int16", "int8"; the bundled models
only). Anything else is refused.

A bad message gets ``{"error": "..."}`` and a close code (``CLOSE_*``);
only that connection ends. Recognition runs in a thread pool (the C calls
release the GIL), so the event loop only moves bytes and JSON. Memory per
connection is bounded: messages up to ``Limits.max_frame_bytes``, at most
``Limits.max_queue`` of them buffered before TCP pushes back, one reply
per message, and the stream keeps only its last result.
"""
import asyncio
import collections
import dataclasses
import http
import json
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .errors import AsrError, DecoderError, LanguageModelError, LexiconError, ServeError

log = logging.getLogger("asr.serve")

CLOSE_NORMAL = 1000        # eof answered
CLOSE_UNSUPPORTED = 1003   # a message of the wrong kind (text that is neither config nor eof)
CLOSE_INVALID = 1007       # a message whose content is wrong (JSON, config values, PCM length)
CLOSE_POLICY = 1008        # protocol order or limits (config after audio, idle too long)
CLOSE_TOO_BIG = 1009       # sent by the websockets library itself: message > max_frame_bytes
CLOSE_INTERNAL = 1011      # the server failed (a bug): only this connection ends
CLOSE_TRY_AGAIN = 1013     # more connections than --max-streams

CONFIG_KEYS = ("sample_rate", "words", "max_alternatives", "phrase_list", "hotwords", "precision")
WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
WEB_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
             "/index.html": ("index.html", "text/html; charset=utf-8"),
             "/pcm-worklet.js": ("pcm-worklet.js", "text/javascript; charset=utf-8")}


@dataclass(frozen=True)
class Limits:
    """What one client may ask for; every per-connection resource is bounded by these."""
    max_streams: int = 64                 # connections recognized at once; more are refused (1013)
    max_frame_bytes: int = 256 * 1024     # one message: 8 s of 16 kHz int16 audio
    max_queue: int = 4                    # messages buffered per connection before TCP backpressure
    idle_timeout_s: float = 30.0          # seconds without a message before the server closes
    min_rate_hz: int = 4000
    max_rate_hz: int = 192000
    max_phrases: int = 5000               # entries of a phrase_list
    max_cached_recognizers: int = 16      # phrase-list / precision variants kept (LRU)


@dataclass(frozen=True)
class StreamConfig:
    """One connection's settings, from its config message (Vosk's keys)."""
    sample_rate: int                      # Hz of the PCM the client sends
    words: bool = True                    # include the per-word "result" list
    max_alternatives: int = 0             # n-best texts in "alternatives" (0: none)
    phrases: Optional[Tuple[str, ...]] = None
    hotwords: Optional[Tuple[Tuple[str, float], ...]] = None   # (word, boost in nats), sorted
    precision: Optional[str] = None       # None: the server's --precision


def check_sample_rate(value, limits):
    """The client's sample rate as an int (Hz), or a ServeError. Every
    integer rate in the limits is accepted: the C frontend's resampler keeps
    a filter table of dst / gcd(src, dst) rows only up to 2^18 taps (2 MB in
    float, 1 MB in the integer frontend) and computes the rows of larger
    ones (rates coprime with the model's, e.g. 44101 Hz) per output, so a
    stream's memory is bounded whatever rate a client names."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise ServeError("sample_rate must be an integer number of Hz, got %r" % (value,), CLOSE_INVALID)
    rate = int(value)
    if not limits.min_rate_hz <= rate <= limits.max_rate_hz:
        raise ServeError("sample_rate %d Hz is outside %d..%d Hz"
                         % (rate, limits.min_rate_hz, limits.max_rate_hz), CLOSE_INVALID)
    return rate


def parse_config(obj, current, model_rate, limits, max_alternatives, lexicon=None):
    """``current`` updated with a config object's keys (a StreamConfig), or
    a ServeError naming the bad key. ``max_alternatives``: the decoder's n-best cap;
    ``lexicon``: the words hotwords may name (None: any)."""
    if not isinstance(obj, dict):
        raise ServeError("config must be an object, got %s" % type(obj).__name__, CLOSE_INVALID)
    unknown = sorted(set(obj) - set(CONFIG_KEYS))
    if unknown:
        raise ServeError("unknown config field(s) %s; known: %s"
                         % (", ".join(map(repr, unknown)), ", ".join(CONFIG_KEYS)), CLOSE_INVALID)
    changes = {}
    if "sample_rate" in obj:
        changes["sample_rate"] = check_sample_rate(obj["sample_rate"], limits)
    if "words" in obj:
        if not isinstance(obj["words"], (bool, int)):
            raise ServeError("words must be true or false", CLOSE_INVALID)
        changes["words"] = bool(obj["words"])
    if "max_alternatives" in obj:
        n = obj["max_alternatives"]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= max_alternatives:
            raise ServeError("max_alternatives must be an integer in 0..%d" % max_alternatives,
                             CLOSE_INVALID)
        changes["max_alternatives"] = n
    if "phrase_list" in obj:
        changes["phrases"] = check_phrases(obj["phrase_list"], limits)
    if "hotwords" in obj:
        changes["hotwords"] = check_hotwords(obj["hotwords"], limits, lexicon)
    if "precision" in obj:
        from .stream import PRECISIONS
        if obj["precision"] not in PRECISIONS:
            raise ServeError("precision must be one of %s" % ", ".join(PRECISIONS), CLOSE_INVALID)
        changes["precision"] = obj["precision"]
    return dataclasses.replace(current, **changes)


def check_phrases(value, limits):
    """A phrase_list as a tuple of lower-cased phrases (None: no restriction).
    Vosk's "[unk]" entry (garbage model) has no equivalent here and is dropped."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ServeError("phrase_list must be a list of strings", CLOSE_INVALID)
    if len(value) > limits.max_phrases:
        raise ServeError("phrase_list has %d entries (at most %d)" % (len(value), limits.max_phrases),
                         CLOSE_INVALID)
    phrases = tuple(" ".join(p.lower().split()) for p in value if p.strip() and p.strip() != "[unk]")
    if not phrases:
        raise ServeError("phrase_list has no phrase", CLOSE_INVALID)
    return phrases


def check_hotwords(value, limits, lexicon=None):
    """A hotwords list as sorted (word, boost in nats) pairs (None: none).
    Each entry is "word or phrase [boost]" (asr.hotwords). Words must be in
    ``lexicon``: pronouncing new ones would copy the shared LM per request."""
    from .errors import DecoderError
    from .hotwords import parse_hotwords
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ServeError("hotwords must be a list of strings (\"word or phrase [boost]\")",
                         CLOSE_INVALID)
    if len(value) > limits.max_phrases:
        raise ServeError("hotwords has %d entries (at most %d)" % (len(value), limits.max_phrases),
                         CLOSE_INVALID)
    if not value:
        return None
    try:
        boosts = parse_hotwords(value)
    except DecoderError as exc:
        raise ServeError("hotwords: %s" % exc, CLOSE_INVALID) from None
    unknown = sorted(w for w in boosts if lexicon is not None and w not in lexicon)
    if unknown:
        raise ServeError("hotwords: %s not in the lexicon (the server can add words at start: "
                         "asr-serve --words FILE)" % ", ".join(map(repr, unknown[:5])), CLOSE_INVALID)
    return tuple(sorted(boosts.items()))


class RecognizerPool:
    """The shared recognizers. The one given (the server's --precision) is
    used by default; another precision or a phrase list gets its own
    recognizer on first request, sharing the lexicon and the LM with it, and
    the last ``limits.max_cached_recognizers`` of those are kept."""

    def __init__(self, base, limits, kernel="auto", custom_model=False, phrases=None,
                 hotwords=None):
        from .hotwords import parse_hotwords
        self.base = base
        self.base_phrases = tuple(phrases) if phrases else None   # the server's --phrases
        self.base_hotwords = parse_hotwords(hotwords) if hotwords else {}   # its --hotwords
        self.limits = limits
        self.kernel = kernel
        self.custom_model = custom_model
        self.model_rate = base.sample_rate
        self._models = {base.precision: base.model}
        self._cache = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_alternatives(self):
        """The n-best size the decoder keeps (the cap of max_alternatives)."""
        return self.base.decoder.nbest

    @property
    def lexicon(self):
        """The words this server knows (None: greedy phone output)."""
        return self.base.decoder.lexicon

    def get(self, precision=None, phrases=None, hotwords=None):
        """The recognizer for a precision, phrase list and hotwords
        (thread-safe; may load a model, so call it off the event loop)."""
        precision = precision or self.base.precision
        if precision == self.base.precision and phrases is None and hotwords is None:
            return self.base
        if precision != self.base.precision and self.custom_model:
            raise ServeError("this server runs one model file (--model); precision %r cannot be "
                             "chosen per stream" % precision, CLOSE_INVALID)
        key = (precision, phrases, hotwords)
        with self._lock:
            rec = self._cache.get(key)
            if rec is None:
                rec = self._make(precision, phrases, hotwords)
                self._cache[key] = rec
                while len(self._cache) > self.limits.max_cached_recognizers:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return rec

    def _make(self, precision, phrases, hotwords):
        """A recognizer for another precision, phrase list or hotwords,
        sharing the base's lexicon, LM and decoder settings; the client's
        hotwords add to the server's (the larger boost wins)."""
        from .model import Model
        from .stream import Recognizer, default_model_path
        model = self._models.get(precision)
        if model is None:
            model = self._models[precision] = Model.load(default_model_path(precision))
        from .lm import ArpaLM
        dec = self.base.decoder
        phrases = phrases or self.base_phrases
        lm = dec.lm if phrases is None and isinstance(dec.lm, ArpaLM) else False
        boosts = dict(self.base_hotwords)
        for word, boost in hotwords or ():
            boosts[word] = max(boosts.get(word, boost), boost)
        try:
            return Recognizer(model=model, lexicon=dec.lexicon, lm=lm,
                              phrases=list(phrases) if phrases else None, kernel=self.kernel,
                              beam=dec.beam, lm_weight=dec.lm_weight, word_bonus=dec.word_bonus,
                              prior_weight=dec.prior_weight, greedy=dec.greedy, endpoint=self.base.endpoint,
                              reject=self.base.reject, hotwords=list(boosts.items()) or None)
        except (LexiconError, LanguageModelError, DecoderError) as exc:
            raise ServeError("phrase_list or hotwords: %s" % exc, CLOSE_INVALID) from None


def word_list(words):
    """Vosk's per-word objects: seconds from the stream's start, confidence in [0, 1]."""
    return [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
             "conf": round(w.conf, 3)} for w in words]


def result_message(results, cfg):
    """The reply for one or more finished utterances (several only when one
    message of audio ended several: they are joined, so that every binary
    message still gets exactly one reply, which lock-step Vosk clients rely on)."""
    msg = {}
    if cfg.max_alternatives:
        if len(results) == 1:
            alts = results[0].nbest[:cfg.max_alternatives]
        else:
            alts = [(" ".join(r.text for r in results if r.text),
                     sum(r.nbest[0][1] for r in results if r.nbest))]
        msg["alternatives"] = [{"text": t, "confidence": round(s, 3)} for t, s in alts]
    if cfg.words:
        msg["result"] = word_list([w for r in results for w in r.words])
    msg["text"] = " ".join(r.text for r in results if r.text)
    return msg


def parse_text_message(text):
    """('config', obj) or ('eof', None) from a text message, or a ServeError."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ServeError("text message is not JSON (%s); expected {\"config\": {...}} or {\"eof\": 1}"
                         " (audio goes in binary messages)" % exc, CLOSE_INVALID) from None
    if isinstance(obj, dict) and len(obj) == 1 and "config" in obj:
        return "config", obj["config"]
    if isinstance(obj, dict) and len(obj) == 1 and "eof" in obj:
        return "eof", None
    raise ServeError("unexpected text message: expected {\"config\": {...}} or {\"eof\": 1}; audio "
                     "goes in binary messages of int16 little-endian PCM", CLOSE_UNSUPPORTED)


def pcm_samples(data):
    """int16 samples of a binary message (little-endian), or a ServeError."""
    if len(data) % 2:
        raise ServeError("binary message of %d bytes: int16 PCM needs an even number of bytes"
                         % len(data), CLOSE_INVALID)
    return np.frombuffer(data, dtype="<i2")


def _accept(stream, samples):
    """Stream.accept in a worker thread; keeps only the last result so a
    long connection's memory does not grow with its utterances."""
    partial = stream.accept(samples)
    del stream.results[:-1]
    return partial


def _finish(stream):
    """Stream.finish in a worker thread: every result it produced (the
    flushed audio can end an utterance before the last one is closed)."""
    n = len(stream.results)
    last = stream.finish()
    finals = stream.results[n:]
    if not finals or finals[-1] is not last:
        finals.append(last)
    return finals


class Session:
    """One WebSocket connection: its config, its stream, its replies."""

    def __init__(self, server, ws):
        self.server = server
        self.ws = ws
        self.cfg = StreamConfig(sample_rate=server.pool.model_rate)
        self.stream = None

    async def run(self):
        """Answer messages until eof (then close normally) or an error (raised)."""
        while True:
            msg = await self._recv()
            if isinstance(msg, str):
                kind, value = parse_text_message(msg)
                if kind == "config":
                    self._configure(value)
                    continue
                reply = await self._finish()
                await self.ws.send(json.dumps(reply))
                await self.ws.close(CLOSE_NORMAL, "eof")
                return
            reply = await self._audio(msg)
            await self.ws.send(json.dumps(reply))

    async def _recv(self):
        try:
            return await asyncio.wait_for(self.ws.recv(), self.server.limits.idle_timeout_s)
        except asyncio.TimeoutError:
            raise ServeError("no message for %g s; closing" % self.server.limits.idle_timeout_s,
                             CLOSE_POLICY) from None

    def _configure(self, obj):
        if self.stream is not None:
            raise ServeError("config must come before the audio", CLOSE_POLICY)
        pool = self.server.pool
        self.cfg = parse_config(obj, self.cfg, pool.model_rate, self.server.limits,
                                pool.max_alternatives, pool.lexicon)

    async def _open(self):
        cfg = self.cfg
        rec = await self.server.run(self.server.pool.get, cfg.precision, cfg.phrases, cfg.hotwords)
        self.stream = rec.stream(sample_rate=cfg.sample_rate)

    async def _audio(self, data):
        samples = pcm_samples(data)
        if self.stream is None:
            await self._open()
        partial = await self.server.run(_accept, self.stream, samples)
        if partial.finals:
            self.server.stats["finals"] += len(partial.finals)
            return result_message(partial.finals, self.cfg)
        return {"partial": partial.text}

    async def _finish(self):
        if self.stream is None:
            await self._open()
        finals = await self.server.run(_finish, self.stream)
        self.server.stats["finals"] += len(finals)
        return result_message(finals, self.cfg)


class Server:
    """The WebSocket server: a recognizer pool, a thread pool for
    recognition, the connection limit, and the browser page over HTTP."""

    def __init__(self, pool, limits=Limits(), threads=None, web_dir=WEB_DIR):
        self.pool = pool
        self.limits = limits
        self.threads = threads or os.cpu_count() or 1
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix="asr-serve")
        self.web_dir = web_dir
        self.active = 0
        self.stats = collections.Counter()

    async def run(self, fn, *args):
        """``fn(*args)`` in the recognition thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def handle(self, ws):
        """One connection, from the handshake to its close. Never raises:
        whatever goes wrong ends this connection only."""
        from websockets.exceptions import ConnectionClosed
        if self.active >= self.limits.max_streams:
            self.stats["refused"] += 1
            await self._close_with_error(ws, "server busy: %d streams already (--max-streams); try "
                                         "again later" % self.active, CLOSE_TRY_AGAIN)
            return
        self.active += 1
        self.stats["connections"] += 1
        log.info("%s: connected (%d active)", ws.remote_address, self.active)
        try:
            await Session(self, ws).run()
        except ServeError as exc:
            self.stats["errors"] += 1
            await self._close_with_error(ws, str(exc), exc.close_code)
        except ConnectionClosed:
            self.stats["vanished"] += 1       # the client went away; its stream is dropped
        except AsrError as exc:
            self.stats["errors"] += 1
            await self._close_with_error(ws, "recognition failed: %s" % exc, CLOSE_INTERNAL)
        except Exception:
            log.exception("connection from %s failed", ws.remote_address)
            self.stats["errors"] += 1
            await self._close_with_error(ws, "internal server error", CLOSE_INTERNAL)
        finally:
            self.active -= 1
            log.info("%s: closed (code %s)", ws.remote_address, ws.close_code)

    @staticmethod
    async def _close_with_error(ws, message, code):
        """Send {"error": message}, then close with ``code`` (the reason is the
        message cut to the 123 bytes a close frame allows)."""
        from websockets.exceptions import ConnectionClosed
        try:
            await ws.send(json.dumps({"error": message}))
            await ws.close(code, message.encode("utf-8")[:123].decode("utf-8", "ignore"))
        except ConnectionClosed:
            pass

    def process_request(self, connection, request):
        """Plain HTTP GETs (no WebSocket upgrade) get the browser page; a
        WebSocket handshake on any path goes on to ``handle``."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        entry = WEB_FILES.get(request.path.split("?", 1)[0])
        if entry is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        with open(os.path.join(self.web_dir, entry[0]), "rb") as f:
            body = f.read()
        resp = connection.respond(http.HTTPStatus.OK, "")
        for name in ("Content-Type", "Content-Length"):
            del resp.headers[name]
        resp.headers["Content-Type"] = entry[1]
        resp.headers["Content-Length"] = str(len(body))
        resp.headers["Cache-Control"] = "no-store"
        return dataclasses.replace(resp, body=body)

    def serve(self, host="127.0.0.1", port=2700):
        """The websockets server (an async context manager; port 0: any free port)."""
        from websockets.asyncio.server import serve
        return serve(self.handle, host, port, process_request=self.process_request,
                     max_size=self.limits.max_frame_bytes, max_queue=self.limits.max_queue,
                     compression=None, ping_interval=20, ping_timeout=20, close_timeout=5)

    def close(self):
        """Stop the recognition threads (after the WebSocket server closed)."""
        self.executor.shutdown(wait=True, cancel_futures=True)
