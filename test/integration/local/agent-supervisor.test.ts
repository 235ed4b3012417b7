import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAgentSupervisor } from '../../../functions/local/agent-supervisor.ts';
import { waitFor } from '../../support/wait.ts';

/** A stand-in agent: a Node process that runs until signalled. */
const sleeper = { args: ['-e', 'setInterval(() => {}, 1000)'], env: process.env };

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('agent supervisor', () => {
  it('starts an agent that died again, after a back-off that grows, and says so', async () => {
    const reports: string[] = [];
    const supervisor = createAgentSupervisor({ report: (message) => reports.push(message), initialBackOffMs: 200, maxBackOffMs: 1000 });
    try {
      supervisor.start({ name: 'node-a', ...sleeper });
      const first = await waitFor('the agent', () => supervisor.pid('node-a'));
      supervisor.kill('node-a', 'SIGKILL');
      const second = await waitFor('a new agent', () => {
        const pid = supervisor.pid('node-a');
        return pid !== undefined && pid !== first ? pid : undefined;
      });
      assert.equal(alive(first), false);
      assert.equal(supervisor.restarts('node-a'), 1);
      assert.match(reports.join('\n'), /node agent node-a was killed by SIGKILL; restarting it in 0.2 s/);
      supervisor.kill('node-a', 'SIGKILL');
      await waitFor('a third agent', () => supervisor.restarts('node-a') === 2);
      assert.match(reports.at(-1) ?? '', /restarting it in 0.4 s/, 'the second back-off doubled');
      assert.notEqual(supervisor.pid('node-a'), second);
    } finally {
      await supervisor.stop();
    }
  });

  it('leaves an agent down when asked (a failed node), and stops the others for good', async () => {
    const reports: string[] = [];
    const supervisor = createAgentSupervisor({ report: (message) => reports.push(message), initialBackOffMs: 20 });
    supervisor.start({ name: 'node-a', ...sleeper });
    supervisor.start({ name: 'node-b', ...sleeper });
    const a = await waitFor('node-a', () => supervisor.pid('node-a'));
    const b = await waitFor('node-b', () => supervisor.pid('node-b'));
    supervisor.kill('node-a', 'SIGKILL', { restart: false });
    await waitFor('node-a down', () => reports.some((line) => /node-a was killed by SIGKILL; not restarting it/.test(line)));
    assert.equal(supervisor.pid('node-a'), undefined);
    await supervisor.stop(2000);
    assert.equal(alive(a), false);
    assert.equal(alive(b), false);
    assert.equal(supervisor.restarts('node-b'), 0);
    assert.ok(!reports.some((line) => line.includes('node-b')), 'a stopped agent is not reported as dying');
  });
});
