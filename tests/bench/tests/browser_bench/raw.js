// The JavaScript baselines: what an app would write by hand instead of using the client. A
// WebSocket, JSON.parse, a Map from topic to handlers with a per-topic seq check, and handlers
// that read the same fields the client's handlers decode. Evaluated once per page; returns an
// object of functions.

// Dispatches one parsed frame the way the raw client does; returns false for other topics.
function dispatch(topics, m) {
  const s = topics.get(m.topic);
  if (s === undefined) return false;
  if (m.seq !== undefined) {
    if (m.seq <= s.seq) return false;
    s.seq = m.seq;
  }
  for (const h of s.handlers) h(m);
  return true;
}

// Opens a socket to `url`; resolves with the client once it is open.
function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const topics = new Map(); // topic → { seq, handlers }
    let mid = 0;
    const c = {
      ws,
      topics,
      openedAt: 0,
      acked: 0,
      ackedAt: 0,
      on: () => {}, // the current handler of every topic, replaced by the benchmarks
      // Subscribes `list` in as few frames as the stub's 64 KiB frame limit allows, or in
      // one frame per topic, resuming after `since` (topic → seq) when given.
      subscribe(list, perTopic, since) {
        for (const t of list) {
          const seq = since && since[t] !== undefined ? since[t] : 0;
          topics.set(t, { seq, since: since && since[t] !== undefined, handlers: [(m) => c.on(m)] });
        }
        const groups = perTopic ? list.map((t) => [t]) : [[]];
        if (!perTopic) {
          let size = 0;
          for (const t of list) {
            const cost = 2 * t.length + 32;
            if (size + cost > 60000) {
              groups.push([]);
              size = 0;
            }
            groups[groups.length - 1].push(t);
            size += cost;
          }
        }
        for (const group of groups) {
          const data = { topics: group, message_id: 'raw' + ++mid };
          if (since) {
            data.since = {};
            for (const t of group) if (since[t] !== undefined) data.since[t] = since[t];
          }
          ws.send(JSON.stringify({ v: 1, type: 'subscribe', topic: 'system', ts: Date.now(), data }));
        }
      },
      // Resolves with the time the acks of `n` topics in all had arrived.
      acks(n) {
        return new Promise((r) => {
          const check = () => (c.acked >= n ? r(c.ackedAt) : setTimeout(check, 1));
          check();
        });
      },
      // Each topic's last seq: where a later session resumes (`since`).
      seqs() {
        const out = {};
        for (const [t, s] of topics) out[t] = s.seq;
        return out;
      },
      close() {
        ws.onmessage = null;
        ws.close();
      },
    };
    ws.onopen = () => {
      c.openedAt = performance.now();
      resolve(c);
    };
    ws.onerror = () => reject(new Error('raw client: socket error'));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'subscribe_ack') {
        for (const t of m.data.topics) {
          const s = topics.get(t);
          // A fresh subscription starts at the ack's seq; a resumed one keeps its own.
          if (s && !s.since && m.data.seqs && m.data.seqs[t] !== undefined) s.seq = m.data.seqs[t];
        }
        c.acked += m.data.topics.length;
        c.ackedAt = performance.now();
        return;
      }
      dispatch(topics, m);
    };
  });
}

// A handler that reads an agent's name and status, as a view would, and resolves `done` with
// the milliseconds from its first to its `n`th event.
function agentCounter(n) {
  const c = { count: 0, chars: 0, first: 0 };
  c.done = new Promise((r) => (c.resolve = r));
  c.handler = (m) => {
    const a = m.data;
    c.chars += a.name.length + a.status.length;
    if (++c.count === 1) c.first = performance.now();
    if (c.count === n) c.resolve(performance.now() - c.first);
  };
  return c;
}

// B1 in the page: parses and dispatches `frames[from..]` to agentCounter-like handlers on
// `list`; returns the milliseconds it took and what the handlers saw.
function dispatchFrames(frames, list, from) {
  const topics = new Map();
  const seen = { count: 0, chars: 0 };
  const handler = (m) => {
    const a = m.data;
    seen.chars += a.name.length + a.status.length;
    seen.count++;
  };
  for (const t of list) topics.set(t, { seq: 0, handlers: [handler] });
  const t0 = performance.now();
  for (let i = from; i < frames.length; i++) dispatch(topics, JSON.parse(frames[i]));
  return { ms: performance.now() - t0, count: seen.count, chars: seen.chars };
}

// Where the baseline's time goes: JSON.parse of `frames[from..]` alone, in milliseconds (the
// rest of dispatchFrames' time is the Map lookup, the seq check and the handler).
function parseFrames(frames, from) {
  let keep = 0;
  const t0 = performance.now();
  for (let i = from; i < frames.length; i++) keep += JSON.parse(frames[i]).seq === undefined ? 0 : 1;
  return { ms: performance.now() - t0, keep };
}

// Records every frame a fresh socket receives after subscribing `list` in one frame.
async function record(url, list) {
  const ws = new WebSocket(url);
  const frames = [];
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = () => j(new Error('record: socket error')); });
  let acked;
  const ack = new Promise((r) => (acked = r));
  ws.onmessage = (e) => {
    frames.push(e.data);
    if (e.data.includes('"subscribe_ack"')) acked();
  };
  ws.send(JSON.stringify({ v: 1, type: 'subscribe', topic: 'system', ts: Date.now(), data: { topics: list, message_id: 'rec' } }));
  await ack;
  return { frames, close: () => ws.close() };
}

// B5's sender: its own socket, sending `send_message` frames with contents `0`, `1`, … to a
// thread at `rate` per second; each send time is kept (performance.now, just before `send`).
// Timers run at most every 4 ms once nested, so each tick sends what is due by then.
async function sender(url) {
  const ws = new WebSocket(url);
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = () => j(new Error('sender: socket error')); });
  return {
    close: () => ws.close(),
    run(thread, n, rate) {
      const sent = new Float64Array(n);
      let i = 0;
      const start = performance.now();
      return new Promise((resolve) => {
        const tick = () => {
          const due = Math.min(n, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
          for (; i < due; i++) {
            const frame = JSON.stringify({
              v: 1, type: 'send_message', topic: 'thread:' + thread, req_id: 'b' + i, ts: Date.now(),
              data: { thread_id: thread, content: String(i) },
            });
            sent[i] = performance.now();
            ws.send(frame);
          }
          if (i < n) setTimeout(tick, 1);
          else resolve(sent);
        };
        tick();
      });
    },
  };
}

// B5's handler: the receive time of each message, by the index its content carries.
function latencyRecorder(n) {
  const c = { received: new Float64Array(n).fill(NaN), count: 0 };
  c.done = new Promise((r) => (c.resolve = r));
  c.handler = (m) => {
    c.received[+m.data.content] = performance.now();
    if (++c.count === n) c.resolve();
  };
  return c;
}

return { connect, agentCounter, dispatchFrames, parseFrames, record, sender, latencyRecorder };
