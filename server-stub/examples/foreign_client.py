#!/usr/bin/env python3
"""A client this project did not write: Python's `websockets` against a `--dev` stub.

Connects to /api/ws/v2 with the dev token, asking for tether's extensions (tether=1),
subscribes to agent:1, expects the subscribe_ack and the agent_state snapshot, changes the
agent over REST (PATCH /api/agents/1) and expects the live agent_updated event with the next
seq. (Without tether=1 the stub answers like the origin backend: no ack and no seq.)

    pip install websockets
    server-stub --dev --port 0          # prints: listening on http://ADDR
    python3 server-stub/examples/foreign_client.py http://ADDR

Exits non-zero if any expectation fails.
"""

import asyncio
import json
import sys
import time
import urllib.request

import websockets

TOKEN = "dev-token"


def frame(kind, data, req_id=None):
    envelope = {"v": 1, "type": kind, "topic": "system", "ts": int(time.time() * 1000),
                "data": data}
    if req_id is not None:
        envelope["req_id"] = req_id
    return json.dumps(envelope)


async def expect(ws, kind):
    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    print("<-", json.dumps(msg))
    if msg["type"] != kind:
        raise SystemExit(f"expected {kind}, got {msg['type']}")
    return msg


def patch_agent(base, agent_id, body):
    request = urllib.request.Request(
        f"{base}/api/agents/{agent_id}", data=json.dumps(body).encode(), method="PATCH",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        print("PATCH", response.status, response.read().decode())


async def main(base):
    ws_url = base.replace("http", "ws", 1) + f"/api/ws/v2?token={TOKEN}&tether=1"
    async with websockets.connect(ws_url) as ws:
        subscribe = frame("subscribe", {"topics": ["agent:1"], "message_id": "py1"})
        print("->", subscribe)
        await ws.send(subscribe)
        ack = await expect(ws, "subscribe_ack")
        assert ack["data"]["topics"] == ["agent:1"], ack
        state = await expect(ws, "agent_state")
        assert state["data"]["id"] == 1 and "seq" not in state, state
        patch_agent(base, 1, {"status": "running"})
        updated = await expect(ws, "agent_updated")
        assert updated["data"]["status"] == "running", updated
        assert updated["seq"] == ack["data"]["seqs"]["agent:1"] + 1, updated
        print("ok: snapshot and live event received")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8787"))
