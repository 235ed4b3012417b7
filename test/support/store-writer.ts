/**
 * A writer process for the store's multi-process tests: `node --import tsx store-writer.ts`,
 * driven over IPC. It opens its own DynamoDB store on the tables it is given and does what the
 * parent asks, reporting every write it saw committed.
 *
 * Messages in: `{ op: 'write', namespace, own, updates, shared? }` — create `own` ConfigMaps and
 * update each `updates` times (a counter in `data.count`, conditional on the revision it read),
 * and, with `shared`, increment that ConfigMap's counter `shared.increments` times with get /
 * update / retry on 409; `{ op: 'stall', namespace, name }` — create a ConfigMap but stop for good after
 * its revision was handed out (the parent kills it there).
 * Messages out: `{ ready }`, `{ committed: [...] }`, `{ allocated: { from, through } }`, `{ error }`.
 */

import { ConflictError } from '../../functions/core/errors.ts';
import { localDynamoDbClient } from '../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';

export interface CommittedWrite {
  readonly name: string;
  readonly revision: number;
  readonly count: number;
}

export type WriterCommand =
  | {
      readonly op: 'write';
      readonly namespace: string;
      readonly own: readonly string[];
      readonly updates: number;
      readonly shared?: { readonly name: string; readonly increments: number };
    }
  | { readonly op: 'stall'; readonly namespace: string; readonly name: string };

export type WriterReport =
  | { readonly ready: true }
  | { readonly committed: readonly CommittedWrite[]; readonly conflicts: number; readonly bogusConflicts: number }
  | { readonly allocated: { readonly from: number; readonly through: number } }
  | { readonly error: string };

const endpoint = process.env.STORE_WRITER_ENDPOINT ?? '';
const tables = { objects: process.env.STORE_WRITER_OBJECTS ?? '', changes: process.env.STORE_WRITER_CHANGES ?? '' };
const send = (report: WriterReport): void => {
  process.send?.(report);
};

let stallOn: string | undefined;
const client = localDynamoDbClient(endpoint);
const store = createDynamoDbStore({
  client,
  tables,
  pollIntervalMs: 100,
  // Plain updates that claim their revisions (docs/adr/189), as the hosts write Leases.
  ...(process.env.STORE_WRITER_CLAIMED === '1' ? { plainUpdates: true, claimedRevisionTypes: [types.configmaps.id] } : {}),
  afterAllocate: async (type, from, through) => {
    if (stallOn === undefined || type.id !== types.configmaps.id) return;
    send({ allocated: { from, through } });
    await new Promise(() => {});
  },
});

function configMap(namespace: string, name: string, count: number): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { count: String(count) } };
}

const countOf = (object: KubeObject): number => Number((object.data as Record<string, string> | undefined)?.count ?? 0);

async function write(command: Extract<WriterCommand, { op: 'write' }>): Promise<void> {
  const committed: CommittedWrite[] = [];
  let conflicts = 0;
  let bogusConflicts = 0;
  const record = (object: KubeObject): void => {
    committed.push({ name: object.metadata.name ?? '', revision: Number(object.metadata.resourceVersion), count: countOf(object) });
  };
  const ownLoops = command.own.map(async (name) => {
    let current = await store.create(types.configmaps, configMap(command.namespace, name, 0));
    record(current);
    for (let i = 1; i <= command.updates; i++) {
      // Conditional on the revision this writer read: nobody else writes it, so a 409 here would be wrong.
      current = await store.update(types.configmaps, { ...current, data: { count: String(i) } });
      record(current);
    }
  });
  const sharedLoop = (async () => {
    const shared = command.shared;
    if (!shared) return;
    for (let done = 0; done < shared.increments; ) {
      const read = await store.get(types.configmaps, command.namespace, shared.name);
      try {
        record(await store.update(types.configmaps, { ...read, data: { count: String(countOf(read) + 1) } }));
        done++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        conflicts++;
        // A 409 is right only if the object moved past the revision this writer sent.
        const now = await store.get(types.configmaps, command.namespace, shared.name);
        if (now.metadata.resourceVersion === read.metadata.resourceVersion) bogusConflicts++;
      }
    }
  })();
  await Promise.all([...ownLoops, sharedLoop]);
  send({ committed, conflicts, bogusConflicts });
}

process.on('message', (command: WriterCommand) => {
  const run = async (): Promise<void> => {
    if (command.op === 'write') await write(command);
    else {
      stallOn = command.name;
      await store.create(types.configmaps, configMap(command.namespace, command.name, 0));
    }
  };
  run().catch((error: unknown) => send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
process.on('disconnect', () => {
  store.close();
  client.destroy();
  process.exit(0);
});
send({ ready: true });
