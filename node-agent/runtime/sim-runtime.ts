/**
 * The `sim` runtime: nothing runs. Containers are Running the moment they start and exit
 * only when stopped (init containers: at once, with success), like KWOK's fake nodes; state lives in memory only, so a sim agent with
 * thousands of pods costs a few objects per container and no processes or files.
 */
import { randomUUID } from 'node:crypto';
import type { ContainerLaunch, ContainerRecord, ContainerRuntime, ExecResult } from './runtime.ts';

export class SimRuntime implements ContainerRuntime {
  readonly kind = 'sim';
  readonly unit = 'container';
  readonly version = 'skiff-sim://1';
  readonly supportsProbes = false;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly listeners: ((record: ContainerRecord) => void)[] = [];

  imageIdOf(launch: Pick<ContainerLaunch, 'image'>): string {
    return `${launch.image}@sim`;
  }

  async start(launch: ContainerLaunch): Promise<ContainerRecord> {
    const id = randomUUID().replaceAll('-', '');
    const record: ContainerRecord = {
      id,
      containerID: `skiff-sim://${id}`,
      pod: launch.pod,
      containerName: launch.containerName,
      attempt: launch.attempt,
      image: launch.image,
      imageID: this.imageIdOf(launch),
      startedAt: new Date().toISOString(),
    };
    this.records.set(id, record);
    // An init container has nothing to do here: it completes at once, as on KWOK's fake nodes,
    // so the app containers start.
    if (launch.init) setImmediate(() => void this.stop(id));
    return record;
  }

  containers(): readonly ContainerRecord[] {
    return [...this.records.values()];
  }

  container(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  async stop(id: string): Promise<ContainerRecord | undefined> {
    const record = this.records.get(id);
    if (!record || record.exit) return record;
    const exited: ContainerRecord = { ...record, exit: { exitCode: 0, reason: 'Completed', finishedAt: new Date().toISOString() } };
    this.records.set(id, exited);
    for (const listener of this.listeners) listener(exited);
    return exited;
  }

  remove(id: string): void {
    this.records.delete(id);
  }

  removePod(uid: string): void {
    for (const [id, record] of this.records) if (record.pod.uid === uid) this.records.delete(id);
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, output: '' };
  }

  onExit(listener: (record: ContainerRecord) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {}
}
