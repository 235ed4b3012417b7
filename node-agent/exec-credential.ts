/**
 * Bearer tokens from a kubeconfig `exec` credential plugin, as kubectl runs them
 * (client.authentication.k8s.io/v1): the command prints an ExecCredential whose
 * `status.token` is sent until `status.expirationTimestamp`. On AWS the node's kubeconfig runs
 * `skiff token`, which signs in with the instance role (ADR 135), so a node holds no
 * long-lived secret. The token is cached and fetched again shortly before it expires, or at once
 * when the API answers 401.
 */
import { execFile } from 'node:child_process';
import { z } from 'zod';

export interface ExecCredentialConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** `client.authentication.k8s.io/v1` or `v1beta1`, passed to the plugin in KUBERNETES_EXEC_INFO. */
  readonly apiVersion: string;
}

const execCredentialSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.literal('ExecCredential'),
  status: z.object({ token: z.string().min(1), expirationTimestamp: z.string().optional() }),
});

export class ExecCredentialError extends Error {
  override name = 'ExecCredentialError';
}

/** Runs the plugin once and answers its token and when it expires. */
export function runExecCredential(config: ExecCredentialConfig, timeoutMs = 30_000): Promise<{ token: string; expiresAt?: Date }> {
  const info = JSON.stringify({ apiVersion: config.apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  return new Promise((resolvePromise, reject) => {
    execFile(
      config.command,
      [...config.args],
      { env: { ...process.env, ...config.env, KUBERNETES_EXEC_INFO: info }, timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new ExecCredentialError(`credential plugin ${config.command} failed: ${stderr.trim() || error.message}`));
          return;
        }
        let parsed: z.infer<typeof execCredentialSchema>;
        try {
          parsed = execCredentialSchema.parse(JSON.parse(stdout));
        } catch (parseError) {
          reject(new ExecCredentialError(`credential plugin ${config.command} printed no ExecCredential: ${String(parseError)}`));
          return;
        }
        const expiresAt = parsed.status.expirationTimestamp ? new Date(parsed.status.expirationTimestamp) : undefined;
        resolvePromise({ token: parsed.status.token, ...(expiresAt && !Number.isNaN(expiresAt.getTime()) ? { expiresAt } : {}) });
      },
    );
  });
}

/** A cached token source over a plugin: one run at a time, a new run a minute before expiry. */
export class ExecTokenSource {
  private cached?: { token: string; expiresAt?: Date };
  private pending?: Promise<string>;

  constructor(
    private readonly config: ExecCredentialConfig,
    private readonly now: () => number = Date.now,
  ) {}

  token(): Promise<string> {
    const cached = this.cached;
    if (cached && (!cached.expiresAt || cached.expiresAt.getTime() - 60_000 > this.now())) return Promise.resolve(cached.token);
    if (!this.pending) {
      this.pending = runExecCredential(this.config)
        .then((result) => {
          this.cached = result;
          return result.token;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.pending;
  }

  /** The server refused the token: the next request runs the plugin again. */
  invalidate(): void {
    this.cached = undefined;
  }
}
