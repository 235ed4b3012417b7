/**
 * Runs the real scheduler controller — the reconcile the scheduler Lambda runs for a stream
 * batch — pass after pass in its own process, so the bench can stop it at the time budget even
 * while a pass is busy planning.
 * Usage: tsx bench/scheduler-worker.ts <endpoint> <objects table> <changes table>
 * Prints one JSON line as each pass starts, {"started":n}, and one as it ends:
 * {"pass":n,"ms":...,"ok":true|false,"error":"..."}; and every 250 ms {"storeIdleMs":n}: how
 * long, since it was ready, this process had no call to the store (DynamoDB) in flight.
 */
import { reconcileKeys } from '../functions/controller-runtime/run-controllers.ts';
import { localDynamoDbClient } from '../functions/local/dynamodb-local.ts';
import { memoryLog } from '../functions/logging/log.ts';
import { schedulerController } from '../functions/scheduler/scheduler-controller.ts';
import { createDynamoDbStore } from '../functions/store/dynamodb-store.ts';
import { types } from '../schemas/registry.ts';

const [endpoint, objects, changes] = process.argv.slice(2);
if (!endpoint || !objects || !changes) throw new Error('usage: scheduler-worker.ts <endpoint> <objects table> <changes table>');
const client = localDynamoDbClient(endpoint);
// Time with no DynamoDB call of this process in flight: what the scheduler leaves the store idle
// for (planning, parsing, waiting on itself), a figure that CPU taken by other processes moves less
// than the wall clock.
let inFlight = 0;
let storeIdleMs = 0;
let idleSince = performance.now();
client.middlewareStack.add(
  (next) => async (args) => {
    if (inFlight++ === 0) storeIdleMs += performance.now() - idleSince;
    try {
      return await next(args);
    } finally {
      if (--inFlight === 0) idleSince = performance.now();
    }
  },
  { step: 'initialize', name: 'storeIdleClock' },
);
const idleNow = (): number => Math.round(storeIdleMs + (inFlight === 0 ? performance.now() - idleSince : 0));
const store = createDynamoDbStore({ client, tables: { objects, changes } });
const log = memoryLog();
const runtime = { store, controllers: [schedulerController], log };
/** The pass's last warning or error, as the bench reports it. */
function lastError(): string {
  const last = log.entries.filter((entry) => entry.level === 'WARN' || entry.level === 'ERROR').at(-1);
  return last ? String(last.fields.error ?? last.message) : '';
}
const passKey = { typeId: types.pods.id, name: '' };
// Ends with the bench even when the bench could not stop it (killed outright).
const parent = process.ppid;
process.stdout.on('error', () => process.exit(0));
// Stopped by the bench: exit in order, so a CPU profile (node --cpu-prof) is written.
process.once('SIGTERM', () => process.exit(0));
// The bench's clock starts here, not at the process start (loading the code takes seconds).
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
storeIdleMs = 0;
idleSince = performance.now();
setInterval(() => process.stdout.write(`${JSON.stringify({ storeIdleMs: idleNow() })}\n`), 250).unref();
for (let pass = 1; process.ppid === parent; pass++) {
  const started = performance.now();
  // A pass that binds every pod ends after the bench has stopped counting (its events are written
  // last): the bench counts the passes begun, so the first is counted while it binds.
  process.stdout.write(`${JSON.stringify({ started: pass })}\n`);
  log.entries.length = 0;
  const failed = await reconcileKeys(runtime, [{ controller: schedulerController, key: passKey }]);
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ pass, ms: Math.round(ms), ok: failed === 0, error: lastError() })}\n`);
  // Nothing was pending: wait a little, as the next stream batch would.
  if (ms < 100) await new Promise((done) => setTimeout(done, 200));
}
client.destroy();
