/**
 * The nodes' latest resource figures on AWS (docs/adr/193): the API Lambda cannot reach the
 * agents inside the VPC to scrape them, as metrics-server scrapes kubelets, so each agent sends
 * its `/stats/summary` over the watch channel every minute and the channel's Lambda keeps it as
 * one item per node in the channel's table — not an object: no revision, no change log, no
 * stream consumer. The item expires by TTL; readers ignore expired items themselves, since TTL
 * deletes them only eventually. The API's `metrics.k8s.io` and the HorizontalPodAutoscaler read
 * these items through `NodeStatsSource`.
 *
 *   pk `node-stats#<nodeName>`, sk `node-stats`: summary (the JSON), receivedAt, expiresAt (TTL)
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import type { KubeObject } from '../../schemas/meta.ts';
import { type NodeStatsSource, type StatsSummary, statsSummarySchema } from '../domain/metrics/node-stats.ts';

/** How long a node's figures count: three of the agents' one-minute reports (docs/adr/173). */
export const nodeStatsLifetimeSeconds = 180;

/** The calls a reader of the figures makes, as IAM actions (the API and controllers are granted exactly these). */
export const nodeStatsReadActions = ['dynamodb:GetItem'] as const;

const nodeStatsKey = (nodeName: string) => ({ pk: { S: `node-stats#${nodeName}` }, sk: { S: 'node-stats' } });

const nodeStatsItem = z.object({
  summary: z.object({ S: z.string() }),
  expiresAt: z.object({ N: z.string() }),
});

export interface NodeStatsItems {
  /** Keeps a node's figures (one PutItem), replacing the ones before. */
  record(nodeName: string, summary: StatsSummary): Promise<void>;
  /** The node's figures, if it sent some that have not expired. */
  read(nodeName: string): Promise<StatsSummary | undefined>;
  /** `read` as the metrics API's and the autoscaler's port. */
  readonly source: NodeStatsSource;
}

export function dynamoDbNodeStats(options: { client: DynamoDBClient; tableName: string; now?: () => number }): NodeStatsItems {
  const { client, tableName } = options;
  const nowMs = options.now ?? Date.now;

  async function read(nodeName: string): Promise<StatsSummary | undefined> {
    // Eventually consistent: half the read cost, and figures a second older are as good.
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: nodeStatsKey(nodeName) }));
    if (!Item) return undefined;
    const item = nodeStatsItem.safeParse(Item);
    if (!item.success || Number(item.data.expiresAt.N) * 1000 <= nowMs()) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(item.data.summary.S);
    } catch {
      return undefined;
    }
    const summary = statsSummarySchema.safeParse(json);
    return summary.success ? summary.data : undefined;
  }

  return {
    async record(nodeName, summary) {
      const receivedAt = Math.floor(nowMs() / 1000);
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...nodeStatsKey(nodeName),
            summary: { S: JSON.stringify(summary) },
            receivedAt: { N: String(receivedAt) },
            expiresAt: { N: String(receivedAt + nodeStatsLifetimeSeconds) },
          },
        }),
      );
    },
    read,
    source: (node: KubeObject) => read(node.metadata.name ?? ''),
  };
}
