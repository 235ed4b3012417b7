/** 16 writer processes on one type, with watchers and lists: see test/support/concurrent-writers.ts. */
import { describeConcurrentWriters } from '../../support/concurrent-writers.ts';

describeConcurrentWriters([[16, 6, 3]]);
