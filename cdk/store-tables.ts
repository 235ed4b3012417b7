import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type AttributeKind, changeLogStream, type TableDefinition, tableDefinitions } from '../functions/store/tables.ts';

export interface StoreTablesProps {
  /**
   * What happens to the cluster's state when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

function attributeType(kind: AttributeKind): dynamodb.AttributeType {
  return kind === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER;
}

export function tableProps(definition: TableDefinition, removalPolicy: RemovalPolicy): dynamodb.TableProps {
  return {
    partitionKey: { name: definition.partitionKey.name, type: attributeType(definition.partitionKey.type) },
    sortKey: { name: definition.sortKey.name, type: attributeType(definition.sortKey.type) },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    removalPolicy,
    ...(definition.stream
      ? { stream: definition.stream === 'NEW_IMAGE' ? dynamodb.StreamViewType.NEW_IMAGE : dynamodb.StreamViewType.NEW_AND_OLD_IMAGES }
      : {}),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
  };
}

/** The object store's tables (etcd's role), from the definitions the store itself uses. */
export class StoreTables extends Construct {
  /** One item per object; its stream drives the controllers and the scheduler. */
  readonly objects: dynamodb.Table;
  /** The change log watches read; compacted by TTL; its stream feeds the watch channel's fan-out. */
  readonly changes: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StoreTablesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.objects = new dynamodb.Table(this, 'Objects', tableProps(tableDefinitions.objects, removalPolicy));
    this.changes = new dynamodb.Table(this, 'Changes', tableProps({ ...tableDefinitions.changes, stream: changeLogStream }, removalPolicy));
  }
}
