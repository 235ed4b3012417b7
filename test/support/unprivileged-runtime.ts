/**
 * Runs one container through the process runtime and prints what it wrote, as JSON on stdout,
 * with the output of an exec in it. The unprivileged-host test starts this in a user namespace
 * where it is not root, so the runtime takes the path of an agent run by an ordinary user.
 *
 *   node --import tsx test/support/unprivileged-runtime.ts '<json: stateDir, podsDir, hiddenPaths, launch>'
 */
import { readFileSync } from 'node:fs';
import { loadImageTable } from '../../node-agent/images.ts';
import { killRecordedContainers, ProcessRuntime } from '../../node-agent/runtime/process-runtime.ts';
import type { ContainerLaunch } from '../../node-agent/runtime/runtime.ts';
import { waitFor } from './wait.ts';

interface Request {
  readonly stateDir: string;
  readonly podsDir: string;
  readonly hiddenPaths: readonly string[];
  readonly launch: ContainerLaunch;
  /** A command exec'd in the container while it runs (it waits for /ready in its HOME to exist). */
  readonly exec: readonly string[];
}

const request = JSON.parse(process.argv[2] ?? '{}') as Request;
const runtime = new ProcessRuntime({ stateDir: request.stateDir, podsDir: request.podsDir, images: loadImageTable(), hiddenPaths: request.hiddenPaths });
try {
  const record = await runtime.start(request.launch);
  const exec = await runtime.exec(record.id, request.exec, 20_000);
  await waitFor('the container to finish', () => runtime.container(record.id)?.exit, { timeoutMs: 30_000 });
  process.stdout.write(JSON.stringify({ uid: process.getuid?.(), output: readFileSync(record.logPath ?? '', 'utf8'), exec }));
} finally {
  await runtime.close();
  killRecordedContainers(request.stateDir);
}
