// Phoenix Channels: subscribe one topic, read an event's fields, show the connection state.
import { Socket } from 'phoenix';

const socket = new Socket('/socket', { params: { token: 'dev-token' } });
socket.onOpen(() => console.log('open'));
socket.onClose(() => console.log('closed'));
socket.connect();
const channel = socket.channel('agent:1');
channel.on('agent_updated', (agent) => console.log(`${agent.name} is ${agent.status}`));
channel.join();
