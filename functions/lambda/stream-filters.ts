/**
 * The event filters of the stack's stream consumers (Lambda event source mapping filter criteria,
 * docs/adr/071): records they do not match never invoke the function, so they are billed
 * nothing. The CDK stack deploys these patterns; the bench applies the same ones to the records
 * its local pollers read (`matchesStreamFilter`), so it counts only the invocations AWS would make.
 */

import { types } from '../../schemas/registry.ts';
import { channelTypes } from '../../schemas/watch-channel.ts';
import { changeStreamFilterPattern } from '../store/change-stream.ts';
import { attributes } from '../store/tables.ts';

export type FilterPattern = Record<string, unknown>;

/**
 * Events are written by the controllers themselves and Leases are node heartbeats; neither needs
 * a reconcile, and the resync catches a lapsed lease, so they do not invoke the controllers.
 */
export const controllerStreamFilters: readonly FilterPattern[] = [
  { dynamodb: { Keys: { [attributes.partitionKey]: { S: [{ 'anything-but': [types.events.id, types.leases.id] }] } } } },
];

/** The scheduler places new or changed pods, and retries pending ones when a node appears. */
export const schedulerStreamFilters: readonly FilterPattern[] = [types.pods, types.nodes].map((type) => ({
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { Keys: { [attributes.partitionKey]: { S: [type.id] } } },
}));

/** The watch channel's fan-out sees new change-log entries of the types agents subscribe to. */
export const fanOutStreamFilters: readonly FilterPattern[] = [changeStreamFilterPattern(channelTypes.map((type) => type.id))];

/**
 * Whether a record matches any of the patterns, for the part of Lambda's filter syntax these
 * patterns use: nested objects, lists of exact values, and `anything-but`.
 */
export function matchesStreamFilter(patterns: readonly FilterPattern[], record: unknown): boolean {
  return patterns.some((pattern) => matches(pattern, record));
}

function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((option) => {
      if (option !== null && typeof option === 'object' && 'anything-but' in option) {
        const excluded = (option as { 'anything-but': unknown[] })['anything-but'];
        return value !== undefined && !excluded.includes(value);
      }
      return option === value;
    });
  }
  if (pattern === null || typeof pattern !== 'object') return pattern === value;
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(pattern as Record<string, unknown>).every(([key, inner]) => matches(inner, (value as Record<string, unknown>)[key]));
}
