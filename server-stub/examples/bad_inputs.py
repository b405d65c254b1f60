#!/usr/bin/env python3
"""Bad inputs against a `--dev` stub, with a second connection that must keep working.

A malformed frame gets an `error` frame; a 1 MiB frame gets close 1009; a wrong token gets close
4401 with no data; another user's topic gets `subscribe_error FORBIDDEN` (the connections ask
for tether's extensions with tether=1; without it the refusal is an `error` frame). After
each, the second connection still answers a ping.

    python3 server-stub/examples/bad_inputs.py http://127.0.0.1:8787
"""

import asyncio
import json
import sys

import websockets


def frame(kind, data, req_id=None):
    envelope = {"v": 1, "type": kind, "topic": "system", "ts": 0, "data": data}
    if req_id is not None:
        envelope["req_id"] = req_id
    return json.dumps(envelope)


async def still_alive(ws, n):
    await ws.send(frame("ping", {"timestamp": n}, req_id=f"p{n}"))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg["type"] == "pong" and msg["req_id"] == f"p{n}":
            print(f"   second connection: pong for p{n}")
            return


async def main(base):
    url = base.replace("http", "ws", 1) + "/api/ws/v2?tether=1&token="
    async with websockets.connect(url + "dev-token") as other:
        async with websockets.connect(url + "dev-token") as ws:
            await ws.send("{not json")
            print("malformed frame ->", await asyncio.wait_for(ws.recv(), 5))
            await still_alive(other, 1)

            await ws.send(frame("subscribe", {"topics": ["agent:2"], "message_id": "m1"}))
            print("another user's topic ->", await asyncio.wait_for(ws.recv(), 5))
            print("   then the (empty) ack ->", await asyncio.wait_for(ws.recv(), 5))
            await still_alive(other, 2)

            await ws.send("x" * (1 << 20))
            try:
                extra = await asyncio.wait_for(ws.recv(), 5)
                print("unexpected frame:", extra)
            except websockets.ConnectionClosed as e:
                print("1 MiB frame -> close", e.rcvd.code, e.rcvd.reason)
            await still_alive(other, 3)

        async with websockets.connect(url + "wrong") as bad:
            try:
                got = await asyncio.wait_for(bad.recv(), 5)
                print("unexpected data for a wrong token:", got)
            except websockets.ConnectionClosed as e:
                print("wrong token -> close", e.rcvd.code, e.rcvd.reason, "(no data frame)")
        await still_alive(other, 4)


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"))
