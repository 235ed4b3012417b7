import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerRecord } from '../../../../node-agent/runtime/runtime.ts';
import { SimRuntime } from '../../../../node-agent/runtime/sim-runtime.ts';

const launch = { pod: { namespace: 'default', name: 'web', uid: 'uid-web' }, attempt: 0, image: 'busybox', env: {} };

describe('the sim runtime', () => {
  it('completes an init container at once with success, and keeps an app container running', async () => {
    const runtime = new SimRuntime();
    const exited = new Promise<ContainerRecord>((resolve) => runtime.onExit(resolve));
    const init = await runtime.start({ ...launch, containerName: 'setup', init: true });
    const app = await runtime.start({ ...launch, containerName: 'app' });
    const record = await exited;
    assert.equal(record.id, init.id);
    assert.equal(record.exit?.exitCode, 0);
    assert.equal(runtime.container(app.id)?.exit, undefined, 'the app container still runs');
  });
});
