#!/usr/bin/env python3
"""Load and soak test of asr-serve over loopback: concurrent real-time streams
of real recordings, every final result checked against offline decoding.

    python -m tools.load_serve [--levels 1,4,16,64] [--max-streams 64] [--rounds 2]
                               [--soak SECONDS --soak-streams N] [--audio FILES] [--json]

Starts ``python -m asr.cli.serve --port 0`` as a subprocess (or uses --url,
which must be a loopback address), decodes every file offline with the
same settings, then:

- levels: N clients at once, each streaming --rounds passes over the files,
  one connection per file, 100 ms messages paced at real time (the sender
  does not wait for replies, so a server that falls behind shows as
  latency). Reported per level: results equal to offline decoding, p50/p95
  latency from the end of the audio (eof sent) to the final result, and
  from the end of the last word (its audio time, on the sender's real-time
  clock) to the final result; p95 delay from a message to its reply; the
  server's CPU (% of one core) and RSS.
- soak: for --soak seconds, --soak-streams clients open, stream a random
  file and close, over and over; 1 in 10 sessions vanishes mid-stream
  (TCP abort, no eof) and 1 in 20 sends a bad message, to exercise cleanup.
  Counted: sessions, correct, wrong, lost (no final), duplicated (more
  finals than offline decoding gives); the server's RSS sampled every 5 s
  from /proc (first, last, max, and the slope after the first minute).

Every loop is bounded in count and time; nothing leaves 127.0.0.0/8.
"""
import argparse
import asyncio
import ipaddress
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FRAME_S = 0.1                 # seconds of audio per binary message
MAX_SOAK_S = 3600
MAX_STREAMS = 512


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--levels", default="1,4,16,64", help="concurrent streams per level")
    ap.add_argument("--max-streams", type=int, default=64, help="the server's --max-streams")
    ap.add_argument("--threads", type=int, default=2, help="the server's --threads")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the files per client")
    ap.add_argument("--audio", nargs="+", help="recordings (default: models/samples/*.wav)")
    ap.add_argument("--soak", type=float, default=0, help="soak seconds (0: none; at most %d)" % MAX_SOAK_S)
    ap.add_argument("--soak-streams", type=int, default=16, help="concurrent clients in the soak")
    ap.add_argument("--url", help="an already running server (loopback only) instead of starting one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = ap.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",") if x]
    if not 0 <= args.soak <= MAX_SOAK_S or max(args.levels + [args.soak_streams]) > MAX_STREAMS:
        ap.error("--soak at most %d s, streams at most %d" % (MAX_SOAK_S, MAX_STREAMS))
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            ap.error("--url must be a loopback address (127.0.0.0/8, ::1 or localhost)")
    return args


def load_audio(files):
    """[(name, int16 samples, rate)] of the recordings."""
    import soundfile as sf
    out = []
    for f in files:
        data, rate = sf.read(f, dtype="int16", always_2d=True)
        out.append((os.path.basename(f), np.ascontiguousarray(data[:, 0]), rate))
    return out


def offline_finals(audio, precision):
    """{name: ([texts], end of the last word in s)} from rec.stream() over each whole file,
    with the server's settings (endpointing on)."""
    from asr.stream import EndpointConfig, Recognizer
    rec = Recognizer(precision=precision, endpoint=EndpointConfig())
    out = {}
    for name, samples, rate in audio:
        s = rec.stream(sample_rate=rate)
        s.accept(samples)
        s.finish()
        texts = [r.text for r in s.results if r.text]
        words = [w for r in s.results for w in r.words]
        out[name] = (texts, words[-1].end if words else len(samples) / rate)
    return out


class ServerProcess:
    """asr-serve in a subprocess on a free loopback port."""

    def __init__(self, args):
        cmd = [sys.executable, "-m", "asr.cli.serve", "--host", "127.0.0.1", "--port", "0",
               "--max-streams", str(args.max_streams), "--threads", str(args.threads),
               "--precision", args.precision]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"listening on (ws://[^ ]+)", line)
            if m:
                self.url = m.group(1)
                return
            if not line and self.proc.poll() is not None:
                break
        self.proc.kill()
        raise SystemExit("asr-serve did not start")

    def rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024.0

    def cpu_s(self):
        """User + system CPU seconds of the server so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def stream_file(url, name, samples, rate, mode="normal"):
    """One session: config, real-time paced 100 ms messages (replies read
    concurrently), eof, final. ``mode``: 'normal', 'vanish' (abort the TCP
    connection halfway) or 'bad' (an unknown config field). Returns a dict
    of what happened; times are time.monotonic() seconds."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    step = int(round(FRAME_S * rate))
    out = {"name": name, "finals": [], "error": None, "sent": [], "replies": [], "t_final": None}
    async with connect(url, open_timeout=30, close_timeout=5) as ws:
        if mode == "bad":
            await ws.send(json.dumps({"config": {"sample_rate": rate, "no_such_field": 1}}))
        else:
            await ws.send(json.dumps({"config": {"sample_rate": rate}}))

        async def receive():
            try:
                while True:
                    msg = json.loads(await ws.recv())
                    out["replies"].append(time.monotonic())
                    if "error" in msg:
                        out["error"] = msg["error"]
                    elif "text" in msg:
                        out["t_final"] = time.monotonic()
                        if msg["text"]:
                            out["finals"].append(msg["text"])
            except ConnectionClosed:
                pass
            out["close_code"] = ws.close_code

        receiver = asyncio.create_task(receive())
        out["t0"] = t0 = time.monotonic()
        n = -(-len(samples) // step)
        for i in range(n):
            await asyncio.sleep(max(0.0, t0 + (i + 1) * FRAME_S - time.monotonic()))
            if mode == "vanish" and i == n // 2:
                ws.transport.abort()
                receiver.cancel()
                out["vanished"] = True
                return out
            try:
                await ws.send(samples[i * step:(i + 1) * step].tobytes())
            except ConnectionClosed:
                break
            out["sent"].append(time.monotonic())
        out["t_eof"] = time.monotonic()
        try:
            await ws.send(json.dumps({"eof": 1}))
        except ConnectionClosed:
            pass
        await asyncio.wait_for(receiver, 60)
    return out


def percentile(values, q):
    """The q-th percentile (0..100) by linear interpolation, or None."""
    return float(np.percentile(values, q)) if values else None


async def run_level(url, audio, expected, n_streams, rounds, seed):
    """n_streams clients at once, each streaming every file ``rounds`` times
    in a shuffled order, starting at random offsets within one second."""
    rng = random.Random(seed)

    async def client(k):
        await asyncio.sleep(rng.random())
        order = [a for _ in range(rounds) for a in rng.sample(audio, len(audio))]
        return [await stream_file(url, *a) for a in order]

    sessions = [s for c in await asyncio.gather(*[client(k) for k in range(n_streams)]) for s in c]
    lat_eof, lat_speech, reply_delay, wrong = [], [], [], 0
    for s in sessions:
        texts, last_word_end = expected[s["name"]]
        if s["finals"] != texts or s["t_final"] is None:
            wrong += 1
            continue
        lat_eof.append(s["t_final"] - s["t_eof"])
        lat_speech.append(s["t_final"] - (s["t0"] + last_word_end))
        # reply i answers message i (one reply per message, in order)
        reply_delay += [r - t for t, r in zip(s["sent"], s["replies"])]
    return {"streams": n_streams, "sessions": len(sessions), "correct": len(sessions) - wrong,
            "eof_to_final_p50_ms": ms(percentile(lat_eof, 50)),
            "eof_to_final_p95_ms": ms(percentile(lat_eof, 95)),
            "speech_end_to_final_p50_ms": ms(percentile(lat_speech, 50)),
            "speech_end_to_final_p95_ms": ms(percentile(lat_speech, 95)),
            "reply_delay_p95_ms": ms(percentile(reply_delay, 95))}


def ms(x):
    return None if x is None else round(1000 * x, 1)


async def run_soak(url, audio, expected, seconds, n_streams, seed, server):
    """Clients open, stream and close sessions until ``seconds`` have passed
    (each session still finishes); RSS of the server sampled every 5 s."""
    rng = random.Random(seed)
    counts = {"sessions": 0, "correct": 0, "wrong": 0, "lost": 0, "duplicated": 0, "vanished": 0,
              "bad_refused": 0, "errors": 0}
    rss = []
    t_start = time.monotonic()
    end = t_start + seconds

    async def client():
        while time.monotonic() < end:
            name, samples, rate = rng.choice(audio)
            r = rng.random()
            mode = "vanish" if r < 0.1 else "bad" if r < 0.15 else "normal"
            try:
                s = await stream_file(url, name, samples, rate, mode)
            except Exception:
                counts["errors"] += 1
                continue
            counts["sessions"] += 1
            texts = expected[name][0]
            if mode == "vanish":
                counts["vanished"] += 1
            elif mode == "bad":
                counts["bad_refused"] += s["error"] is not None and s.get("close_code") == 1007
            elif s["finals"] == texts:
                counts["correct"] += 1
            elif len(s["finals"]) > len(texts):
                counts["duplicated"] += 1
            elif s["t_final"] is None or len(s["finals"]) < len(texts):
                counts["lost"] += 1
            else:
                counts["wrong"] += 1

    async def sample_rss():
        while time.monotonic() < end + 5:
            rss.append((time.monotonic() - t_start, server.rss_mb()))
            await asyncio.sleep(5)

    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(*[client() for _ in range(n_streams)])
    sampler.cancel()
    rss.append((time.monotonic() - t_start, server.rss_mb()))
    late = [(t, m) for t, m in rss if t >= 60] or rss
    slope = float(np.polyfit([t for t, _ in late], [m for _, m in late], 1)[0] * 60) if len(late) > 2 else 0.0
    counts.update({"seconds": round(time.monotonic() - t_start, 1), "streams": n_streams,
                   "rss_first_mb": round(rss[0][1], 1), "rss_last_mb": round(rss[-1][1], 1),
                   "rss_max_mb": round(max(m for _, m in rss), 1),
                   "rss_slope_after_60s_mb_per_min": round(slope, 3),
                   "rss_mb_each_minute": [round(m, 1) for t, m in rss if int(t) % 60 < 5]})
    return counts


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import glob
    files = args.audio or sorted(glob.glob(os.path.join(ROOT, "models", "samples", "*.wav")))
    audio = load_audio(files)
    expected = offline_finals(audio, args.precision)
    server = None if args.url else ServerProcess(args)
    url = args.url or server.url
    report = {"url": url, "precision": args.precision, "threads": args.threads,
              "max_streams": args.max_streams, "files": [a[0] for a in audio],
              "audio_s": round(sum(len(a[1]) / a[2] for a in audio), 2), "levels": [], "soak": None}
    if not args.json:
        print(HEADER, flush=True)
    try:
        for n in args.levels:
            cpu0, t0 = (server.cpu_s(), time.monotonic()) if server else (0, 0)
            level = asyncio.run(run_level(url, audio, expected, n, args.rounds, args.seed))
            if server:
                level["server_cpu_pct"] = round(100 * (server.cpu_s() - cpu0) / (time.monotonic() - t0), 1)
                level["server_rss_mb"] = round(server.rss_mb(), 1)
            report["levels"].append(level)
            print_level(level, args.json)
        if args.soak:
            if server is None:
                raise SystemExit("--soak needs the server started by this tool (its RSS is sampled)")
            report["soak"] = asyncio.run(run_soak(url, audio, expected, args.soak, args.soak_streams,
                                                  args.seed, server))
            if not args.json:
                print("soak: " + json.dumps(report["soak"]), flush=True)
    finally:
        if server:
            server.stop()
    if args.json:
        print(json.dumps(report))
    ok = all(lv["correct"] == lv["sessions"] for lv in report["levels"])
    soak = report["soak"]
    ok = ok and (soak is None or (soak["wrong"] == soak["lost"] == soak["duplicated"] == soak["errors"] == 0))
    return 0 if ok else 1


HEADER = ("streams  correct   eof->final p50/p95 ms   speech end->final p50/p95 ms   "
          "reply p95 ms   server CPU %   RSS MB")


def print_level(level, as_json):
    if as_json:
        return
    print("%7d  %3d/%-3d   %9s / %-9s   %12s / %-12s   %12s   %12s   %6s"
          % (level["streams"], level["correct"], level["sessions"], level["eof_to_final_p50_ms"],
             level["eof_to_final_p95_ms"], level["speech_end_to_final_p50_ms"],
             level["speech_end_to_final_p95_ms"], level["reply_delay_p95_ms"],
             level.get("server_cpu_pct"), level.get("server_rss_mb")), flush=True)


if __name__ == "__main__":
    sys.exit(main())
