import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FieldPath, FieldSet, fieldNodesOf, fieldSetOf, valueAt } from '../../../../functions/api/patch/field-set.ts';
import type { JsonObject } from '../../../../functions/api/patch/json-value.ts';
import { frozen } from './frozen.ts';

/** What a set answers, worked out from its paths alone. */
function answersOf(set: FieldSet, probes: readonly FieldPath[]) {
  const paths = set.paths().map((path) => JSON.stringify(path));
  const below = (probe: FieldPath) => set.paths().some((path) => path.length > probe.length && probe.every((element, index) => path[index] === element));
  return probes.map((probe) => [set.has(probe), set.hasDescendantOf(probe), set.isLeaf(probe), paths.includes(JSON.stringify(probe)), below(probe)]);
}

function assertConsistent(set: FieldSet, probes: readonly FieldPath[]): void {
  for (const [has, hasDescendant, isLeaf, member, below] of answersOf(set, probes)) {
    assert.equal(has, member);
    assert.equal(hasDescendant, below);
    assert.equal(isLeaf, member && !below);
  }
}

describe('FieldSet', () => {
  const a: FieldPath[] = [
    ['f:status', 'f:phase'],
    ['f:status', 'f:conditions', 'k:{"type":"Ready"}'],
    ['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:status'],
  ];
  const b: FieldPath[] = [
    ['f:status', 'f:phase'],
    ['f:status', 'f:podIP'],
    ['f:spec', 'f:nodeName'],
  ];
  const probes: FieldPath[] = [
    [],
    ['f:status'],
    ['f:status', 'f:phase'],
    ['f:status', 'f:podIP'],
    ['f:status', 'f:conditions'],
    ['f:status', 'f:conditions', 'k:{"type":"Ready"}'],
    ['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:status'],
    ['f:spec'],
    ['f:spec', 'f:nodeName'],
  ];

  it('answers membership, descendants and leaves from its own members after every operation', () => {
    const left = new FieldSet(a);
    const right = new FieldSet(b);
    // Asked first, so that a set made from it could wrongly reuse what it worked out.
    assertConsistent(left, probes);
    assertConsistent(right, probes);
    const made = {
      union: left.union(right),
      difference: left.difference(right),
      reverseDifference: right.difference(left),
      withoutDeepest: left.difference(new FieldSet([a[2] as FieldPath])),
      filter: left.filter((path) => path.length < 4),
      filterOfUnion: left.union(right).filter((path) => path[0] === 'f:status'),
    };
    for (const [what, set] of Object.entries(made)) {
      assert.doesNotThrow(() => assertConsistent(set, probes), what);
    }
    assert.deepEqual(
      made.union
        .paths()
        .map((path) => path.join('/'))
        .sort(),
      [...new Set([...a, ...b].map((path) => path.join('/')))].sort(),
    );
    assert.deepEqual(made.difference.paths(), [a[1], a[2]]);
    assert.deepEqual(made.reverseDifference.paths(), [b[1], b[2]]);
  });

  it('compares sets by their members, whoever made them', () => {
    assert.ok(new FieldSet(a).equals(new FieldSet([...a].reverse().map((path) => [...path]))));
    assert.ok(!new FieldSet(a).equals(new FieldSet(b)));
    assert.ok(
      new FieldSet(a)
        .union(new FieldSet(b))
        .difference(new FieldSet(b))
        .equals(new FieldSet([a[1] as FieldPath, a[2] as FieldPath])),
    );
  });
});

describe('fieldNodesOf', () => {
  const pod = frozen({
    metadata: { labels: { app: 'web' }, finalizers: ['a', 'b', 'a'], annotations: {} },
    spec: {
      containers: [
        { name: 'main', image: 'one', ports: [{ containerPort: 80, protocol: 'TCP' }] },
        // A repeated key: valueAt finds the first item, and what only the second one has is not found.
        { name: 'main', image: 'two', command: ['sleep'] },
        { name: 'side', image: 'three', env: [] },
      ],
      nodeName: 'node-1',
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'late' },
      ],
      podIPs: [{ ip: '10.0.0.1' }],
      containerStatuses: [{ name: 'main', ready: true }],
    },
  }) as unknown as JsonObject;

  it('finds the same fields as fieldSetOf and the value valueAt finds at each', () => {
    const nodes = fieldNodesOf('Pod', pod);
    assert.ok(nodes.fields.equals(fieldSetOf('Pod', pod)));
    assert.ok(nodes.fields.size > 10);
    for (const path of nodes.fields.paths()) assert.deepEqual(nodes.valueOf(path), valueAt(pod, path), path.join('/'));
    assert.equal(nodes.valueOf(['f:spec', 'f:containers', 'k:{"name":"main"}', 'f:image']), 'one');
    assert.equal(nodes.valueOf(['f:spec', 'f:containers', 'k:{"name":"main"}', 'f:command']), undefined);
    assert.equal(nodes.valueOf(['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:reason']), undefined);
    assert.equal(nodes.valueOf(['f:spec', 'f:missing']), undefined);
  });
});
