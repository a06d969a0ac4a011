#!/usr/bin/env python3
"""python-socketio on aiohttp: the benchmark contract on namespace '/'.

`echo` acknowledges with its arguments (or emits `echo` back when no ack was asked);
`broadcast` re-emits its arguments as `broadcast` to every socket of the namespace.
Usage: pysio_aiohttp.py [--host 127.0.0.1] [--port 3001] [--redis redis://127.0.0.1:6379]
With --redis, python-socketio's AsyncRedisManager carries broadcasts between processes
(the peer of Switchyard's Redis backplane in the cluster scenario).
"""
import argparse
import asyncio

import socketio
from aiohttp import web

sio = None


def make_server(redis_url):
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    return socketio.AsyncServer(async_mode="aiohttp", ping_interval=25, ping_timeout=20,
                                max_http_buffer_size=1_000_000, cors_allowed_origins="*",
                                client_manager=manager, logger=False, engineio_logger=False)


async def echo(sid, *args):
    if len(args) == 1:
        return args[0]
    return args


async def broadcast(sid, *args):
    await sio.emit("broadcast", args[0] if len(args) == 1 else args, namespace="/")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3001)
    p.add_argument("--redis", default=None)
    a = p.parse_args()
    global sio
    sio = make_server(a.redis)
    sio.on("echo", echo)
    sio.on("broadcast", broadcast)
    app = web.Application()
    sio.attach(app)
    try:
        import uvloop  # noqa: F401
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    web.run_app(app, host=a.host, port=a.port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
