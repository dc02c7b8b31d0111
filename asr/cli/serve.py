"""asr-serve: streaming recognition server over WebSocket (Vosk's protocol)."""
import argparse
import asyncio
import logging
import os
import signal
import sys

from .common import HelpFormatter, add_model_options, error

DESCRIPTION = """\
Recognize audio streamed over WebSocket, with Vosk's protocol: send
{"config": {"sample_rate": 16000}}, then binary int16 little-endian PCM,
then {"eof": 1}; each binary message is answered with {"partial": ...} or,
when an utterance ended, {"result": [words], "text": ...}. Opening
http://HOST:PORT/ in a browser records the microphone and shows the
transcript live. The protocol, its config keys, the errors and close codes
are documented in README.md and asr/server.py.
Needs the 'serve' extra: pip install 'asr-fixedpoint[serve]'.
Exit status: 0 after SIGINT/SIGTERM, 1 the model could not be loaded or the
port could not be bound, 2 usage error."""


def parse_args(argv):
    from ..server import Limits
    d = Limits()
    p = argparse.ArgumentParser(prog="asr-serve", description=DESCRIPTION,
                                formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=2700, help="TCP port (0: any free port)")
    p.add_argument("--max-streams", type=int, default=d.max_streams,
                   help="connections recognized at once; more are refused with close code 1013")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="recognition worker threads")
    p.add_argument("--max-frame-bytes", type=int, default=d.max_frame_bytes,
                   help="largest WebSocket message accepted (bytes); larger ones close with 1009")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout_s,
                   help="seconds without a message before a connection is closed (1008)")
    p.add_argument("-v", "--verbose", action="store_true", help="log connections on stderr")
    add_model_options(p)
    args = p.parse_args(argv)
    if args.max_streams < 1 or args.threads < 1 or args.max_frame_bytes < 2 or args.idle_timeout <= 0:
        p.error("--max-streams, --threads, --max-frame-bytes and --idle-timeout must be positive")
    return args


def make_server(args):
    """The Server for parsed arguments: the recognizer (endpointing on, so
    each utterance gets its final result) and the limits."""
    from ..server import Limits, RecognizerPool, Server
    from ..stream import EndpointConfig
    from .common import make_recognizer, read_lines
    phrases = read_lines(args.phrases) if args.phrases else None
    rec = make_recognizer(args, endpoint=EndpointConfig())
    limits = Limits(max_streams=args.max_streams, max_frame_bytes=args.max_frame_bytes,
                    idle_timeout_s=args.idle_timeout)
    hotwords = read_lines(args.hotwords) if getattr(args, "hotwords", None) else None
    pool = RecognizerPool(rec, limits, kernel=args.kernel, custom_model=args.model is not None,
                          phrases=phrases, hotwords=hotwords)
    return Server(pool, limits, threads=args.threads)


async def serve_forever(server, host, port):
    """Serve until SIGINT or SIGTERM; prints the address on stderr once listening."""
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server.serve(host, port) as ws_server:
        h, p = ws_server.sockets[0].getsockname()[:2]
        error("asr-serve: listening on ws://%s:%d/ (browser page: http://%s:%d/), precision %s, "
              "max %d streams, %d threads" % (h, p, h, p, server.pool.base.precision,
                                             server.limits.max_streams, server.threads))
        sys.stderr.flush()
        await stop
    server.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    try:
        import websockets  # noqa: F401
    except ImportError:
        error("asr-serve: needs the 'serve' extra: pip install 'asr-fixedpoint[serve]'")
        return 1
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        server = make_server(args)
    except (AsrError, OSError) as exc:
        error("asr-serve: %s" % exc)
        return 1
    try:
        asyncio.run(serve_forever(server, args.host, args.port))
    except OSError as exc:
        error("asr-serve: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
