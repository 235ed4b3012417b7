/**
 * 4 and 16 writer processes on one type whose updates claim their revisions at the log's tail
 * (docs/adr/189), with watchers and lists: see test/support/concurrent-writers.ts. Each object has
 * one writer, as a node's Lease has (claims are for such objects: a second writer racing a lost
 * claim is the case docs/adr/189 leaves to the counter); creates take ranges from the counter,
 * lifted past the claims.
 */
import { describeConcurrentWriters } from '../../support/concurrent-writers.ts';

describeConcurrentWriters(
  [
    [4, 15, 0],
    [16, 5, 0],
  ],
  { claimed: true },
);
