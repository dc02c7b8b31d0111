"""asr-serve (asr/server.py, asr/cli/serve.py, asr/web/): real websockets
clients against a real server on an ephemeral loopback port, results
compared with offline decoding of the same audio, every kind of bad input,
the connection limit, vanishing clients, and the browser page in headless
Chromium fed a real recording through its fake microphone."""
import asyncio
import contextlib
import glob
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile as sf

if os.environ.get("CI") == "true":
    import websockets  # noqa: F401  (CI installs the 'serve' extra: never skipped there)
else:
    websockets = pytest.importorskip("websockets")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from asr.audio import Resampler  # noqa: E402
from asr.server import (CLOSE_INVALID, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG,  # noqa: E402
                        CLOSE_TRY_AGAIN, CLOSE_UNSUPPORTED, Limits, RecognizerPool, Server,
                        word_list)
from asr.stream import EndpointConfig, Recognizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav")))
FRAME = 1600                      # samples per binary message: 100 ms at 16 kHz


@pytest.fixture(scope="module")
def rec():
    return Recognizer(endpoint=EndpointConfig())


@pytest.fixture(scope="module")
def pool(rec):
    return RecognizerPool(rec, Limits())


class RunningServer:
    """A Server serving on 127.0.0.1:<free port> from its own event loop thread."""

    def __init__(self, server):
        self.server = server
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self):
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        async with self.server.serve("127.0.0.1", 0) as ws_server:
            self.port = ws_server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stop_event.wait()

    @property
    def url(self):
        return "ws://127.0.0.1:%d/" % self.port

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(30), "server did not start"
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        self.server.close()


def wait_idle(server, timeout_s=10.0):
    """Wait (up to timeout_s seconds) until the server has no connection left."""
    deadline = time.monotonic() + timeout_s
    while server.active and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture(scope="module")
def served(pool):
    with RunningServer(Server(pool, Limits(max_frame_bytes=64 * 1024), threads=2)) as running:
        yield running


def read_int16(path):
    data, rate = sf.read(path, dtype="int16")
    return data, rate


def offline(rec, samples, rate):
    """Every utterance's (text, words) from rec.stream() over the whole audio at once."""
    s = rec.stream(sample_rate=rate)
    s.accept(samples)
    s.finish()
    return [(r.text, word_list(r.words)) for r in s.results if r.text]


async def recognize(url, samples, rate, frame=FRAME, config=None):
    """Stream ``samples`` (int16) in ``frame``-sample messages, one reply
    awaited per message (as Vosk's clients do). Returns (replies to the
    audio, the reply to eof, the close code)."""
    async with connect(url) as ws:
        await ws.send(json.dumps({"config": dict({"sample_rate": rate}, **(config or {}))}))
        replies = []
        for i in range(0, len(samples), frame):
            await ws.send(samples[i:i + frame].tobytes())
            replies.append(json.loads(await ws.recv()))
        await ws.send('{"eof" : 1}')
        last = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return replies, last, ws.close_code


def finals(replies, last):
    """(text, words) of every result message with text, in order."""
    return [(m["text"], m["result"]) for m in replies + [last] if "text" in m and m["text"]]


@pytest.mark.parametrize("path", SAMPLES, ids=os.path.basename)
def test_bundled_samples_equal_offline_decoding(served, rec, path):
    samples, rate = read_int16(path)
    replies, last, code = asyncio.run(recognize(served.url, samples, rate))
    assert code == CLOSE_NORMAL
    assert len(replies) == -(-len(samples) // FRAME)          # one reply per binary message
    assert finals(replies, last) == offline(rec, samples, rate)
    assert last["text"]


def test_several_utterances_other_rate_and_odd_chunks(served, rec):
    """Three recordings with 1.5 s of silence between them, at 44.1 kHz,
    in 1013-sample messages: each utterance's final arrives mid-stream as a
    "result" reply, and all of them equal offline decoding."""
    parts = []
    for path in SAMPLES:
        samples, rate = read_int16(path)
        parts += [samples, np.zeros(int(1.5 * rate), np.int16)]
    audio = np.concatenate(parts).astype(np.float32) / 32768.0
    x = Resampler(16000, 44100).process(audio, final=True)
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)
    replies, last, code = asyncio.run(recognize(served.url, pcm, 44100, frame=1013))
    expected = offline(rec, pcm, 44100)
    assert code == CLOSE_NORMAL
    assert len(expected) == 3
    assert sum("result" in m for m in replies) == 3              # endpoints fired during the stream
    assert finals(replies, last) == expected


def test_a_rate_coprime_with_the_models_is_resampled(served, rec):
    """44101 Hz needs 16000 filter phases: the C resampler computes each
    output's taps instead of storing them, and the stream is heard as well
    as at its own rate."""
    path = os.path.join(ROOT, "models", "samples", "goforward-1.wav")
    samples, rate = read_int16(path)
    x = Resampler(rate, 44101).process(samples.astype(np.float32) / 32768.0, final=True)
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)
    replies, last, code = asyncio.run(recognize(served.url, pcm, 44101, frame=4410))
    assert code == CLOSE_NORMAL
    got = finals(replies, last)
    assert got == offline(rec, pcm, 44101)
    assert [t for t, _ in got] == [t for t, _ in offline(rec, samples, rate)]


def test_config_words_alternatives_phrases(served, rec):
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "goforward-1.wav"))
    _, last, _ = asyncio.run(recognize(served.url, samples, rate,
                                       config={"words": False, "max_alternatives": 3}))
    text = offline(rec, samples, rate)[0][0]
    assert "result" not in last and last["text"] == text
    assert 1 <= len(last["alternatives"]) <= 3 and last["alternatives"][0]["text"] == text
    scores = [a["confidence"] for a in last["alternatives"]]
    assert scores == sorted(scores, reverse=True)
    phrases = ["go forward ten meters", "go back", "turn left", "[unk]"]
    _, last, _ = asyncio.run(recognize(served.url, samples, rate, config={"phrase_list": phrases}))
    restricted = Recognizer(phrases=phrases[:3], endpoint=EndpointConfig())
    assert last["text"] in phrases[:3]
    assert [(last["text"], last["result"])] == offline(restricted, samples, rate)


def test_config_hotwords_bias_the_search_like_offline(served):
    """A hotword with a boost changes the result exactly as Recognizer(hotwords=) does offline."""
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "goforward-1.wav"))
    _, last, _ = asyncio.run(recognize(served.url, samples, rate, config={"hotwords": ["mirrors 10"]}))
    boosted = Recognizer(hotwords=["mirrors 10"], endpoint=EndpointConfig())
    assert [(last["text"], last["result"])] == offline(boosted, samples, rate)
    assert "mirrors" in last["text"]                 # without it: "go forward ten meters"


def test_config_precision_uses_that_model(served):
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "librivox-0880.wav"))
    replies, last, _ = asyncio.run(recognize(served.url, samples, rate, config={"precision": "float"}))
    float_rec = Recognizer(precision="float", endpoint=EndpointConfig())
    assert finals(replies, last) == offline(float_rec, samples, rate)


async def expect_error(url, messages):
    """Send ``messages`` (str or bytes) and return (error messages received, close code, reason)."""
    errors = []
    async with connect(url, max_size=None) as ws:
        try:
            for m in messages:
                await ws.send(m)
            while True:
                msg = json.loads(await ws.recv())
                if "error" in msg:
                    errors.append(msg["error"])
        except ConnectionClosed:
            pass
        return errors, ws.close_code, ws.close_reason


BAD_INPUTS = {
    "non-json text": (["{config: 16000"], CLOSE_INVALID, "not JSON"),
    "plain text": (["hello"], CLOSE_INVALID, "not JSON"),
    "unknown config field": (['{"config": {"sample_rat": 16000}}'], CLOSE_INVALID, "sample_rat"),
    "config not an object": (['{"config": [16000]}'], CLOSE_INVALID, "must be an object"),
    "sample rate too low": (['{"config": {"sample_rate": 10}}'], CLOSE_INVALID, "outside"),
    "sample rate huge": (['{"config": {"sample_rate": 1e12}}'], CLOSE_INVALID, "outside"),
    "sample rate fractional": (['{"config": {"sample_rate": 16000.5}}'], CLOSE_INVALID, "integer"),
    "sample rate string": (['{"config": {"sample_rate": "16000"}}'], CLOSE_INVALID, "integer"),
    "too many alternatives": (['{"config": {"max_alternatives": 99}}'], CLOSE_INVALID, "0..5"),
    "phrase list out of the lexicon": (['{"config": {"phrase_list": ["zzqxv blorf"]}}', b"\0\0" * 800],
                                       CLOSE_INVALID, "phrase_list"),
    "hotword out of the lexicon": (['{"config": {"hotwords": ["zzqxv 3"]}}'], CLOSE_INVALID,
                                   "not in the lexicon"),
    "hotwords not a list": (['{"config": {"hotwords": "kubernetes"}}'], CLOSE_INVALID, "list of strings"),
    "odd-length pcm": ([b"\x01\x02\x03"], CLOSE_INVALID, "even number of bytes"),
    "text where binary expected": (['{"config": {}}', b"\0\0" * 800, '{"audio": "AAAA"}'],
                                   CLOSE_UNSUPPORTED, "binary messages"),
    "config after audio": ([b"\0\0" * 800, '{"config": {"sample_rate": 8000}}'], CLOSE_POLICY,
                           "before the audio"),
}


def test_bad_inputs_get_an_error_and_a_close_code_while_others_go_on(served, rec):
    """Every bad client at once, beside two good streams: each bad one gets
    its error and close code, and the good ones still equal offline decoding."""
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "tidigits-dhd-2934z.wav"))

    async def main():
        good = [recognize(served.url, samples, rate) for _ in range(2)]
        bad = [expect_error(served.url, msgs) for msgs, _, _ in BAD_INPUTS.values()]
        too_big = expect_error(served.url, [b"\0" * (64 * 1024 + 2)])
        return await asyncio.gather(asyncio.gather(*good), asyncio.gather(*bad), too_big)

    good, bad, (too_big_errors, too_big_code, too_big_reason) = asyncio.run(main())
    for (name, (_, code, words)), (errors, got_code, reason) in zip(BAD_INPUTS.items(), bad):
        assert got_code == code, name
        assert len(errors) == 1 and words in errors[0], (name, errors)
        assert reason and reason in errors[0], name             # the close reason says it too
    # Larger than max_size: the websockets library closes with 1009 and says why.
    assert too_big_errors == [] and too_big_code == CLOSE_TOO_BIG and "exceeds" in too_big_reason
    for replies, last, code in good:
        assert code == CLOSE_NORMAL and finals(replies, last) == offline(rec, samples, rate)


def test_max_streams_refused_with_1013_then_accepted(pool):
    samples = np.zeros(1600, np.int16)

    async def main(running):
        async with connect(running.url) as a, connect(running.url) as b:
            for ws in (a, b):                       # both are being recognized
                await ws.send(samples.tobytes())
                assert "partial" in json.loads(await ws.recv())
            refused = await expect_error(running.url, [])
        await asyncio.to_thread(wait_idle, running.server)
        after = await recognize(running.url, samples, 16000)    # slots freed: accepted again
        return refused, after

    with RunningServer(Server(pool, Limits(max_streams=2), threads=1)) as running:
        (errors, code, reason), (_, last, after_code) = asyncio.run(main(running))
        assert running.server.stats["refused"] == 1
    assert code == CLOSE_TRY_AGAIN and "--max-streams" in errors[0] and "busy" in reason
    assert after_code == CLOSE_NORMAL and last["text"] == ""


def test_vanishing_client_frees_its_stream(pool, rec):
    """Clients that drop the TCP connection mid-stream (no close frame) are
    cleaned up, and a stream running beside them is unaffected."""
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "librivox-0880.wav"))

    async def vanish(url):
        ws = await connect(url)
        await ws.send(samples[:8000].tobytes())
        await ws.send(samples[8000:16000].tobytes())
        ws.transport.abort()                        # gone: no close frame, no eof

    async def main(url):
        out = await asyncio.gather(recognize(url, samples, rate), *[vanish(url) for _ in range(3)])
        return out[0]

    with RunningServer(Server(pool, Limits(max_streams=4), threads=2)) as running:
        replies, last, code = asyncio.run(main(running.url))
        wait_idle(running.server)
        assert running.server.active == 0
        assert running.server.stats["vanished"] == 3
    assert code == CLOSE_NORMAL and finals(replies, last) == offline(rec, samples, rate)


def test_idle_client_is_closed(pool):
    with RunningServer(Server(pool, Limits(idle_timeout_s=0.3), threads=1)) as running:
        errors, code, _ = asyncio.run(expect_error(running.url, ['{"config": {"sample_rate": 8000}}']))
    assert code == CLOSE_POLICY and "no message for 0.3 s" in errors[0]


def test_http_serves_the_page_and_404(served):
    base = "http://127.0.0.1:%d" % served.port
    with urllib.request.urlopen(base + "/") as r:
        page = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert "pcm-worklet.js" in page and "getUserMedia" in page
    with urllib.request.urlopen(base + "/pcm-worklet.js") as r:
        assert "registerProcessor" in r.read().decode()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + "/nope")
    assert err.value.code == 404


def test_cli_help_and_usage_errors(capsys):
    from asr.cli import serve
    with pytest.raises(SystemExit) as e:
        serve.main(["--help"])
    assert e.value.code == 0 and "--max-streams" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        serve.main(["--threads", "0"])
    assert e.value.code == 2


def test_cli_serves_until_sigterm(rec):
    """asr-serve as a process: prints its address, recognizes, exits 0 on SIGTERM."""
    import re
    import signal
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "asr.cli.serve", "--port", "0", "--max-streams", "2"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"listening on (ws://\S+)", line).group(1)
        samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "goforward-1.wav"))
        replies, last, code = asyncio.run(recognize(url, samples, rate))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.stderr.close()
    assert "max 2 streams" in line
    assert code == CLOSE_NORMAL and finals(replies, last) == offline(rec, samples, rate)


# --- the browser page, in headless Chromium with a fake microphone ---

def chromium_paths():
    """(browser, driver) from Debian's chromium and chromium-driver packages."""
    return shutil.which("chromium"), shutil.which("chromedriver")


@contextlib.contextmanager
def headless_chromium(wav_path=None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = chromium_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    if wav_path:
        # %noloop: the fake microphone plays the file once, then silence
        opts.add_argument("--use-file-for-fake-audio-capture=%s%%noloop" % wav_path)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        yield d
    finally:
        d.quit()


@pytest.mark.skipif(os.environ.get("CI") != "true" and None in chromium_paths(),
                    reason="needs apt-get install chromium chromium-driver (installed by .ci/run; "
                           "never skipped in CI)")
def test_browser_page_shows_the_transcript(served, rec, tmp_path):
    """The page records Chromium's fake microphone (a real recording,
    resampled by asr.audio to the page's AudioContext rate so that Chromium
    passes it through), streams it to the server and shows the final
    transcript. Chromium's capture path (where capture starts, its buffering)
    is not bit-exact, so the page's text may differ from offline decoding of
    the file by one word of the four (it matched exactly in every run tried
    at the AudioContext's rate); exact equality with offline decoding is
    tested above without a browser."""
    from asr.text import align
    with headless_chromium() as d:
        d.get("http://127.0.0.1:%d/nope" % served.port)
        context_rate = int(d.execute_script("return new AudioContext().sampleRate"))
    samples, rate = read_int16(os.path.join(ROOT, "models", "samples", "goforward-1.wav"))
    x = Resampler(rate, context_rate).process(samples.astype(np.float32) / 32768.0, final=True)
    wav = str(tmp_path / "goforward.wav")
    sf.write(wav, x, context_rate, subtype="PCM_16")
    expected = " ".join(t for t, _ in offline(rec, sf.read(wav, dtype="int16")[0], context_rate))
    with headless_chromium(wav) as d:
        d.get("http://127.0.0.1:%d/?seconds=5" % served.port)
        deadline = time.monotonic() + 60
        state = {}
        while time.monotonic() < deadline:
            state = d.execute_script("return window.asrState")
            if state["status"] in ("done", "error"):
                break
            time.sleep(0.2)
        shown = d.find_element("id", "finals").text
    assert state["status"] == "done" and state["sampleRate"] == context_rate, state
    assert state["samplesSent"] >= len(samples) / rate * state["sampleRate"], state  # the whole file
    assert len(state["finals"]) == 1 and state["finals"][0] in shown, state
    assert expected == "go forward ten meters"
    assert sum(align(expected.split(), state["finals"][0].split())) <= 1, (expected, state)
