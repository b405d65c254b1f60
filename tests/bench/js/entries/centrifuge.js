// Centrifugo's client: subscribe one channel, read a publication's fields, show the state.
import { Centrifuge } from 'centrifuge';

const client = new Centrifuge('ws://localhost:8000/connection/websocket', { token: 'dev-token' });
client.on('state', (ctx) => console.log(ctx.newState));
const sub = client.newSubscription('agent:1');
sub.on('publication', (ctx) => console.log(`${ctx.data.name} is ${ctx.data.status}`));
sub.subscribe();
client.connect();
