// Socket.IO: join one room, read an event's fields, show the connection state.
import { io } from 'socket.io-client';

const socket = io('/', { auth: { token: 'dev-token' } });
socket.on('connect', () => socket.emit('subscribe', 'agent:1'));
socket.on('disconnect', () => console.log('closed'));
socket.on('agent_updated', (agent) => console.log(`${agent.name} is ${agent.status}`));
