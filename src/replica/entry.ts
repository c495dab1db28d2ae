import { runReplica } from './main.js';

runReplica();
