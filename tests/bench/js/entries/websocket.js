// By hand: a WebSocket, JSON.parse and a Map from topic to handlers (no reconnect, no
// heartbeat, no replay): the least a page can ship.
const handlers = new Map();
const ws = new WebSocket(`ws://${location.host}/api/ws/v2?token=dev-token&tether=1`);
ws.onopen = () => {
  console.log('open');
  ws.send(JSON.stringify({ v: 1, type: 'subscribe', topic: 'system', ts: Date.now(), data: { topics: [...handlers.keys()] } }));
};
ws.onclose = () => console.log('closed');
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  for (const h of handlers.get(m.topic) || []) h(m);
};
handlers.set('agent:1', [(m) => console.log(`${m.data.name} is ${m.data.status}`)]);
