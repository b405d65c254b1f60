// GraphQL over WebSocket: one subscription, read the result's fields, show the connection state.
import { createClient } from 'graphql-ws';

const client = createClient({
  url: 'ws://localhost:4000/graphql',
  connectionParams: { token: 'dev-token' },
  on: { connected: () => console.log('open'), closed: () => console.log('closed') },
});
client.subscribe(
  { query: 'subscription { agent(id: 1) { name status } }' },
  {
    next: ({ data }) => console.log(`${data.agent.name} is ${data.agent.status}`),
    error: (e) => console.error(e),
    complete: () => {},
  },
);
