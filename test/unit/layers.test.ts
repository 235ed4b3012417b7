/**
 * The layering the linter enforces (docs/adr/103-layers-of-the-tree.md): the real Biome binary,
 * with the project's own biome.json, lints files placed in each layer's folder of a scratch tree,
 * and must refuse every import that runs back up while letting the allowed ones pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const biome = join(root, 'node_modules', '.bin', 'biome');

/** [file, specifier it imports, what the linter says about it (a part of the message)] */
type Case = readonly [file: string, specifier: string, message: string];

const refused: readonly Case[] = [
  ['functions/core/a.ts', '../store/store.ts', 'functions/core is the ground floor'],
  ['functions/core/b.ts', '../../schemas/meta.ts', 'functions/core is the ground floor'],
  ['functions/net/a.ts', '../core/errors.ts', 'functions/net is plumbing'],
  ['functions/logging/a.ts', '../core/errors.ts', 'functions/logging is on the ground floor'],
  ['functions/logging/b.ts', '../store/store.ts', 'functions/logging is on the ground floor'],
  ['schemas/a.ts', '../functions/store/store.ts', 'schemas imports only functions/core'],
  ['schemas/b.ts', '../functions/domain/pods/pod-binding.ts', 'schemas imports only functions/core'],
  ['schemas/c.ts', '../node-agent/index.ts', 'schemas imports only functions/core'],
  ['functions/store/a.ts', '../api/app.ts', 'functions/store imports only'],
  ['functions/store/b.ts', '../controllers/controllers.ts', 'functions/store imports only'],
  ['functions/store/c.ts', '../scheduler/plan-schedule.ts', 'functions/store imports only'],
  ['functions/store/d.ts', '../domain/pods/pod-binding.ts', 'functions/store imports only'],
  ['functions/store/e.ts', '../local/host.ts', 'functions/store imports only'],
  ['functions/store/f.ts', '../lambda/api-handler.ts', 'functions/store imports only'],
  ['functions/store/g.ts', '../../node-agent/index.ts', 'functions/store imports only'],
  ['functions/domain/services/a.ts', '../../api/app.ts', 'functions/domain imports only'],
  ['functions/domain/services/b.ts', '../../controllers/controllers.ts', 'functions/domain imports only'],
  ['functions/domain/services/c.ts', '../../scheduler/plan-schedule.ts', 'functions/domain imports only'],
  ['functions/domain/services/d.ts', '../../local/host.ts', 'functions/domain imports only'],
  ['functions/domain/pods/e.ts', '../../lambda/api-handler.ts', 'functions/domain imports only'],
  ['functions/domain/pods/f.ts', '../../../node-agent/index.ts', 'functions/domain imports only'],
  ['functions/controller-runtime/a.ts', '../controllers/controllers.ts', 'functions/controller-runtime serves'],
  ['functions/controller-runtime/b.ts', '../scheduler/scheduler-controller.ts', 'functions/controller-runtime serves'],
  ['functions/controller-runtime/c.ts', '../api/app.ts', 'functions/controller-runtime serves'],
  ['functions/api/a.ts', '../controllers/controllers.ts', 'are peers'],
  ['functions/api/admission/b.ts', '../../scheduler/plan-schedule.ts', 'are peers'],
  ['functions/api/c.ts', '../local/host.ts', 'are peers'],
  ['functions/api/d.ts', '../lambda/api-handler.ts', 'are peers'],
  ['functions/controllers/endpoints/a.ts', '../../api/strategies.ts', 'are peers'],
  ['functions/controllers/endpoints/b.ts', '../../scheduler/plan-schedule.ts', 'are peers'],
  ['functions/controllers/c.ts', '../local/host.ts', 'are peers'],
  ['functions/controllers/d.ts', '../lambda/resync-handler.ts', 'are peers'],
  ['functions/scheduler/a.ts', '../controllers/controllers.ts', 'are peers'],
  ['functions/scheduler/b.ts', '../api/app.ts', 'are peers'],
  ['functions/scheduler/c.ts', '../local/control-loops.ts', 'are peers'],
  ['functions/scheduler/d.ts', '../lambda/scheduler-handler.ts', 'are peers'],
  ['functions/watch/a.ts', '../api/app.ts', 'are peers'],
  ['functions/watch/b.ts', '../lambda/channel-handler.ts', 'are peers'],
  ['functions/watch/c.ts', '../../node-agent/index.ts', 'are peers'],
  ['functions/api/w.ts', '../watch/channel.ts', 'are peers'],
  ['functions/store/w.ts', '../watch/channel.ts', 'functions/store imports only'],
  ['node-agent/h.ts', '../functions/watch/channel.ts', 'node-agent imports only'],
  ['node-agent/a.ts', '../functions/store/store.ts', 'node-agent imports only'],
  ['node-agent/proxy/b.ts', '../../functions/api/app.ts', 'node-agent imports only'],
  ['node-agent/proxy/c.ts', '../../functions/controllers/controllers.ts', 'node-agent imports only'],
  ['node-agent/d.ts', '../functions/scheduler/plan-schedule.ts', 'node-agent imports only'],
  ['node-agent/e.ts', '../functions/local/host.ts', 'node-agent imports only'],
  ['node-agent/f.ts', '../functions/lambda/api-handler.ts', 'node-agent imports only'],
  ['node-agent/g.ts', '../functions/controller-runtime/controller.ts', 'node-agent imports only'],
  ['functions/aws/a.ts', '../api/app.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/b.ts', '../lambda/controllers-handler.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/c.ts', '../local/load-balancer.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/d.ts', '../../node-agent/index.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/e.ts', '../controllers/controllers.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/f.ts', '../controller-runtime/controller.ts', 'functions/aws holds the AWS adapters'],
  ['functions/aws/g.ts', '../scheduler/scheduler-controller.ts', 'functions/aws holds the AWS adapters'],
  ['functions/api/e.ts', '../aws/cloudwatch-pod-logs.ts', 'are peers'],
  ['functions/controllers/e.ts', '../aws/cloudwatch-pod-logs.ts', 'are peers'],
  ['functions/domain/pods/g.ts', '../../aws/cloudwatch-pod-logs.ts', 'functions/domain imports only'],
  ['functions/store/h.ts', '../aws/cloudwatch-pod-logs.ts', 'functions/store imports only'],
  ['functions/lambda/a.ts', '../local/host.ts', 'functions/lambda holds the Lambda hosts'],
  ['functions/local/a.ts', '../../node-agent/runtime/process-runtime.ts', 'only through node-agent/index.ts'],
  ['bench/a.ts', '../node-agent/node-object.ts', 'only through node-agent/index.ts'],
  ['bin/a.ts', '../node-agent/cli.ts', 'only through node-agent/index.ts'],
];

const allowed: readonly (readonly [file: string, specifier: string])[] = [
  ['functions/core/a.ts', './errors.ts'],
  ['functions/aws/a.ts', '../core/errors.ts'],
  ['functions/aws/b.ts', '../../schemas/meta.ts'],
  ['functions/aws/c.ts', '../store/store.ts'],
  ['functions/aws/d.ts', '../domain/pods/pod-logs.ts'],
  ['functions/aws/e.ts', '../domain/services/load-balancers.ts'],
  ['functions/aws/f.ts', '@aws-sdk/client-cloudwatch-logs'],
  ['functions/aws/g.ts', '@aws-sdk/client-elastic-load-balancing-v2'],
  ['functions/lambda/e.ts', '../aws/cloudwatch-pod-logs.ts'],
  ['functions/core/b.ts', 'node:net'],
  ['functions/net/a.ts', 'node:net'],
  ['functions/logging/a.ts', './log.ts'],
  ['functions/logging/b.ts', '@aws-lambda-powertools/logger'],
  ['schemas/a.ts', '../functions/core/errors.ts'],
  ['schemas/b.ts', './meta.ts'],
  ['schemas/c.ts', 'zod'],
  ['functions/store/a.ts', '../core/errors.ts'],
  ['functions/store/b.ts', '../../schemas/meta.ts'],
  ['functions/domain/services/a.ts', '../../store/store.ts'],
  ['functions/domain/services/b.ts', '../../net/tcp-listeners.ts'],
  ['functions/domain/services/c.ts', '../pods/pod-binding.ts'],
  ['functions/controller-runtime/a.ts', '../store/list-all.ts'],
  ['functions/controller-runtime/b.ts', '../logging/log.ts'],
  ['functions/api/a.ts', '../domain/services/service-allocation.ts'],
  ['functions/api/b.ts', './patch/index.ts'],
  ['functions/controllers/endpoints/a.ts', '../../controller-runtime/controller.ts'],
  ['functions/controllers/endpoints/b.ts', '../../domain/services/service-view.ts'],
  ['functions/scheduler/a.ts', '../controller-runtime/controller.ts'],
  ['node-agent/proxy/a.ts', '../../functions/domain/services/service-view.ts'],
  ['node-agent/proxy/b.ts', '../../functions/net/tcp-listeners.ts'],
  ['node-agent/c.ts', '../functions/core/ipv4-range.ts'],
  ['node-agent/d.ts', '../schemas/meta.ts'],
  ['node-agent/e.ts', './pod-cidr.ts'],
  ['node-agent/f.ts', '../functions/logging/structured-log.ts'],
  ['functions/watch/a.ts', '../store/change-stream.ts'],
  ['functions/watch/b.ts', '../../schemas/watch-channel.ts'],
  ['node-agent/g.ts', '../schemas/watch-channel.ts'],
  ['functions/lambda/w.ts', '../watch/channel.ts'],
  ['functions/local/c.ts', '../watch/channel.ts'],
  ['functions/lambda/a.ts', '../api/app.ts'],
  ['functions/lambda/d.ts', '../aws/alb-load-balancers.ts'],
  ['functions/lambda/b.ts', '../controllers/controllers.ts'],
  ['functions/lambda/c.ts', '../scheduler/scheduler-controller.ts'],
  ['functions/local/a.ts', '../../node-agent/index.ts'],
  ['functions/local/b.ts', '../api/app.ts'],
  ['bench/a.ts', '../node-agent/index.ts'],
  ['cdk/a.ts', '../functions/store/tables.ts'],
];

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A scratch tree with the project's biome.json and one file per case; Biome's exit status and output. */
function lint(files: readonly (readonly [file: string, specifier: string, ...rest: string[]])[]): { readonly status: number | null; readonly output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-layers-'));
  scratch.push(dir);
  copyFileSync(join(root, 'biome.json'), join(dir, 'biome.json'));
  for (const [file, specifier] of files) {
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file), `import { imported } from '${specifier}';\n\nexport const used = imported;\n`);
  }
  const result = spawnSync(biome, ['lint', '--max-diagnostics=none', '--colors=off', '.'], { cwd: dir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** Each diagnosed file with the message under it. */
function refusals(output: string): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = /^(\S+\.ts):\d+:\d+ lint\/style\/noRestrictedImports[^\n]*\n(?:[^\n]*\n)*?\s*× ([^\n]+)/gm;
  for (const match of output.matchAll(pattern)) found.set(match[1] ?? '', match[2] ?? '');
  return found;
}

describe('the linter keeps the layers', () => {
  it('refuses every import that runs back up, naming the rule it breaks', () => {
    const { status, output } = lint(refused);
    assert.notEqual(status, 0, output);
    const found = refusals(output);
    for (const [file, specifier, message] of refused) {
      const said = found.get(file);
      assert.ok(said, `${file} importing ${specifier} passed the linter`);
      assert.ok(said.includes(message), `${file}: ${said}`);
      assert.ok(said.includes('docs/adr/103-layers-of-the-tree.md'), said);
    }
    assert.equal(found.size, refused.length, output);
  });

  it('lets the imports that run down pass', () => {
    const { status, output } = lint(allowed);
    assert.deepEqual([...refusals(output).keys()], []);
    assert.equal(status, 0, output);
  });
});
