/**
 * Keeps the local host's node agents running, as systemd keeps a kubelet running: an agent
 * that exits while the host is up is started again after a back-off (1 s doubling to 30 s, back
 * to 1 s once an agent has run for a minute). The restarted agent adopts the containers the old
 * one left running (ADR 081), so its pods carry on. Each agent gets a pipe on its stdin that the
 * host never writes to: when the host dies, even by SIGKILL, the pipe closes and the agent stops
 * with its containers (`--exit-with-parent`), so no agent outlives its host (docs/adr/108).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface AgentSpec {
  readonly name: string;
  /** Arguments after the Node binary. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Where stdout and stderr go: a file appended to, or the host's own terminal. */
  readonly logFile?: string;
}

export interface SupervisorOptions {
  /** What the host tells the user (its console). */
  readonly report: (message: string) => void;
  /** @default 1000 */
  readonly initialBackOffMs?: number;
  /** @default 30000 */
  readonly maxBackOffMs?: number;
  /** An agent that ran this long starts its back-off again from the beginning. @default 60000 */
  readonly resetAfterMs?: number;
}

interface Supervised {
  readonly spec: AgentSpec;
  child?: ChildProcess;
  startedAt: number;
  backOffMs: number;
  restartTimer?: NodeJS.Timeout;
  /** Set by `kill(..., { restart: false })`: the agent stays down (a node that failed). */
  keepDown: boolean;
  restarts: number;
}

export interface AgentSupervisor {
  start(spec: AgentSpec): void;
  /** Signals an agent's process; unless `restart` is false, the supervisor starts it again. */
  kill(name: string, signal?: NodeJS.Signals, options?: { readonly restart?: boolean }): void;
  /** The agent's current process id, if it runs. */
  pid(name: string): number | undefined;
  /** How many times an agent was started again. */
  restarts(name: string): number;
  /** SIGTERM to every agent, SIGKILL after `graceMs`; no more restarts. */
  stop(graceMs?: number): Promise<void>;
}

export function createAgentSupervisor(options: SupervisorOptions): AgentSupervisor {
  const initialBackOffMs = options.initialBackOffMs ?? 1000;
  const maxBackOffMs = options.maxBackOffMs ?? 30_000;
  const resetAfterMs = options.resetAfterMs ?? 60_000;
  const agents = new Map<string, Supervised>();
  let stopping = false;

  function launch(agent: Supervised): void {
    const { spec } = agent;
    const log = spec.logFile ? openSync(spec.logFile, 'a') : 'inherit';
    // stdin: a pipe nobody writes to, closed by the kernel when this process dies.
    const child = spawn(process.execPath, [...spec.args], { stdio: ['pipe', log, log], env: spec.env });
    if (typeof log === 'number') closeSync(log);
    agent.child = child;
    agent.startedAt = Date.now();
    child.once('error', (error) => options.report(`node agent ${spec.name} could not be started: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (agent.child === child) agent.child = undefined;
      if (stopping) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      if (agent.keepDown) {
        options.report(`node agent ${spec.name} ${how}; not restarting it`);
        return;
      }
      if (Date.now() - agent.startedAt >= resetAfterMs) agent.backOffMs = initialBackOffMs;
      const delay = agent.backOffMs;
      agent.backOffMs = Math.min(maxBackOffMs, agent.backOffMs * 2);
      options.report(`node agent ${spec.name} ${how}; restarting it in ${Math.round(delay / 100) / 10} s (its pods keep running)`);
      agent.restartTimer = setTimeout(() => {
        agent.restartTimer = undefined;
        if (stopping || agent.keepDown) return;
        agent.restarts += 1;
        launch(agent);
      }, delay);
    });
  }

  return {
    start(spec) {
      const agent: Supervised = { spec, startedAt: Date.now(), backOffMs: initialBackOffMs, keepDown: false, restarts: 0 };
      agents.set(spec.name, agent);
      launch(agent);
    },
    kill(name, signal = 'SIGKILL', killOptions = {}) {
      const agent = agents.get(name);
      if (!agent) return;
      if (killOptions.restart === false) {
        agent.keepDown = true;
        if (agent.restartTimer) clearTimeout(agent.restartTimer);
      }
      agent.child?.kill(signal);
    },
    pid(name) {
      return agents.get(name)?.child?.pid;
    },
    restarts(name) {
      return agents.get(name)?.restarts ?? 0;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      await Promise.all(
        [...agents.values()].map((agent) => {
          if (agent.restartTimer) clearTimeout(agent.restartTimer);
          const child = agent.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
          return new Promise<void>((done) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          });
        }),
      );
    },
  };
}
