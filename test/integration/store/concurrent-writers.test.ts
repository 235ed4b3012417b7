/** 1 and 4 writer processes on one type, with watchers and lists: see test/support/concurrent-writers.ts. */
import { describeConcurrentWriters } from '../../support/concurrent-writers.ts';

describeConcurrentWriters([
  [1, 30, 10],
  [4, 15, 6],
]);
