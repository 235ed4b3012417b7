import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controllerStreamFilters, fanOutStreamFilters, matchesStreamFilter, schedulerStreamFilters } from '../../../functions/lambda/stream-filters.ts';

const record = (eventName: string, pk: string, sk: { S: string } | { N: string } = { S: 'default/x' }) => ({
  eventName,
  dynamodb: { Keys: { pk: { S: pk }, sk } },
});

describe('the stream consumers’ event filters', () => {
  const cases: Array<[string, readonly Record<string, unknown>[], ReturnType<typeof record>, boolean]> = [
    ['controllers see pods', controllerStreamFilters, record('MODIFY', 'core/pods'), true],
    ['controllers see deletions', controllerStreamFilters, record('REMOVE', 'apps/deployments'), true],
    ['controllers skip Events', controllerStreamFilters, record('INSERT', 'core/events'), false],
    ['controllers skip Lease renewals', controllerStreamFilters, record('MODIFY', 'coordination.k8s.io/leases'), false],
    ['the scheduler sees new pods', schedulerStreamFilters, record('INSERT', 'core/pods'), true],
    ['the scheduler sees nodes change', schedulerStreamFilters, record('MODIFY', 'core/nodes'), true],
    ['the scheduler skips pod deletions', schedulerStreamFilters, record('REMOVE', 'core/pods'), false],
    ['the scheduler skips Services', schedulerStreamFilters, record('INSERT', 'core/services'), false],
    ['the fan-out sees new change-log entries of pods', fanOutStreamFilters, record('INSERT', 'core/pods', { N: '12' }), true],
    ['the fan-out sees EndpointSlices', fanOutStreamFilters, record('INSERT', 'discovery.k8s.io/endpointslices', { N: '3' }), true],
    ['the fan-out skips the revision counter rewritten on every write', fanOutStreamFilters, record('MODIFY', 'core/pods', { N: '0' }), false],
    ['the fan-out skips compaction', fanOutStreamFilters, record('REMOVE', 'core/pods', { N: '12' }), false],
    ['the fan-out skips Leases', fanOutStreamFilters, record('INSERT', 'coordination.k8s.io/leases', { N: '9' }), false],
  ];
  for (const [what, filters, input, expected] of cases) {
    it(what, () => assert.equal(matchesStreamFilter(filters, input), expected));
  }
});
