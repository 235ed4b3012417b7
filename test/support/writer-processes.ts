/** Starting `store-writer.ts` processes on a test's tables and talking to them. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestDynamoDb } from './dynamodb.ts';
import type { WriterCommand, WriterReport } from './store-writer.ts';

const script = fileURLToPath(new URL('./store-writer.ts', import.meta.url));

export interface WriterProcess {
  readonly child: ChildProcess;
  send(command: WriterCommand): void;
  /** The next report that `accept` takes (an `error` report rejects). */
  next<T extends WriterReport>(accept: (report: WriterReport) => report is T, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startWriter(db: TestDynamoDb, options: { readonly claimed?: boolean } = {}): Promise<WriterProcess> {
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      STORE_WRITER_ENDPOINT: db.endpoint,
      STORE_WRITER_OBJECTS: db.tables.objects,
      STORE_WRITER_CHANGES: db.tables.changes,
      STORE_WRITER_CLAIMED: options.claimed ? '1' : '',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reports: WriterReport[] = [];
  const listeners = new Set<() => void>();
  child.on('message', (report: WriterReport) => {
    reports.push(report);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const writer: WriterProcess = {
    child,
    send(command) {
      child.send(command);
    },
    next(accept, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const index = reports.findIndex((report) => 'error' in report || accept(report));
          if (index < 0) return;
          const [report] = reports.splice(index, 1);
          finish();
          if (report && 'error' in report) reject(new Error(`writer ${child.pid}: ${report.error}`));
          else if (report && accept(report)) resolve(report);
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`writer ${child.pid} sent nothing expected in ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = (): void => {
          finish();
          reject(new Error(`writer ${child.pid} exited`));
        };
        function finish(): void {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        }
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.disconnect();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
  await writer.next((report): report is { ready: true } => 'ready' in report);
  return writer;
}
