/**
 * The IAM actions the stack grants for the store's tables (`tableActions`) cover every DynamoDB
 * call the store's adapter makes: read from its source, so a new call without its grant fails
 * here rather than with AccessDenied on AWS.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tableActions } from '../../../functions/store/tables.ts';

const storeDir = fileURLToPath(new URL('../../../functions/store/', import.meta.url));
/** Table administration runs only on the local host (`ensureTables`); the stack creates the tables. */
const administration = new Set(['CreateTable', 'DescribeTable', 'UpdateTimeToLive', 'UpdateTable']);
/** The operations a TransactWriteItems / TransactGetItems part is authorized as. */
const transactionParts: Record<string, string> = {
  Put: 'PutItem',
  Delete: 'DeleteItem',
  Update: 'UpdateItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

function callsOfTheAdapter(): Set<string> {
  const calls = new Set<string>();
  for (const file of readdirSync(storeDir).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(join(storeDir, file), 'utf8');
    for (const match of source.matchAll(/new (\w+)Command\(/g)) {
      const operation = match[1] ?? '';
      if (administration.has(operation)) continue;
      if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
        for (const part of source.matchAll(/\b(Put|Delete|Update|ConditionCheck|Get): \{/g)) calls.add(transactionParts[part[1] ?? ''] ?? '');
        continue;
      }
      calls.add(operation);
    }
  }
  return calls;
}

describe('tableActions', () => {
  it('grants every DynamoDB operation the store adapter calls', () => {
    const granted = new Set([...tableActions.read, ...tableActions.write].map((action) => action.replace(/^dynamodb:/, '')));
    const calls = callsOfTheAdapter();
    assert.ok(calls.size >= 4, `found the adapter's calls: ${[...calls].join(', ')}`);
    for (const call of calls) assert.ok(granted.has(call), `the store calls ${call} but tableActions does not grant dynamodb:${call}`);
  });

  it('names actions, never a wildcard', () => {
    for (const action of [...tableActions.read, ...tableActions.write]) assert.match(action, /^dynamodb:[A-Z][A-Za-z]+$/);
  });
});
