/** The echo replica of the WebSocket benchmark, in a process of its own (file descriptors). */
import { echoReplica } from '../test/websocket-peer.js';

const replica = await echoReplica(process.argv[2] ?? 'bench');
console.log(replica.url);
