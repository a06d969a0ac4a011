#!/usr/bin/env python3
"""python-socketio as an ASGI app on uvicorn: the benchmark contract on namespace '/'.

`echo` acknowledges with its arguments; `broadcast` re-emits its arguments as
`broadcast` to every socket of the namespace.
Usage: pysio_uvicorn.py [--host 127.0.0.1] [--port 3002]
"""
import argparse

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", ping_interval=25, ping_timeout=20,
                           max_http_buffer_size=1_000_000, cors_allowed_origins="*",
                           logger=False, engineio_logger=False)
app = socketio.ASGIApp(sio)


@sio.on("echo")
async def echo(sid, *args):
    if len(args) == 1:
        return args[0]
    return args


@sio.on("broadcast")
async def broadcast(sid, *args):
    await sio.emit("broadcast", args[0] if len(args) == 1 else args, namespace="/")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3002)
    a = p.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False,
                loop="uvloop", http="httptools", ws="websockets-sansio", backlog=4096,
                ws_ping_interval=None, ws_max_size=1_000_000)


if __name__ == "__main__":
    main()
