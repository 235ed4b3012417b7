/**
 * 4 writer processes on one type whose updates claim their revisions at the log's tail
 * (docs/adr/189), with watchers and lists: see test/support/concurrent-writers.ts. Creates claim
 * too. Each object has one writer, as a node's Lease has: docs/adr/189 says what a second writer
 * of one object can see when it writes in the moment between another's object put and its lost
 * claim's retry.
 * (16 processes pass too, in two minutes on the shared machine: left out of the suite's time.)
 */
import { describeConcurrentWriters } from '../../support/concurrent-writers.ts';

describeConcurrentWriters([[4, 12, 0]], { claimed: true });
