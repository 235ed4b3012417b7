import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { attributes } from '../functions/store/tables.ts';
import { types } from '../schemas/registry.ts';
import { LoadBalancing } from './load-balancing.ts';
import { NodeGroup, type NodeGroupProps } from './node-group.ts';
import { SkiffFunction } from './skiff-function.ts';
import { StoreTables } from './store-tables.ts';

export interface SkiffStackProps extends StackProps {
  /**
   * How often the resync Lambda re-reconciles every object, catching anything a stream
   * record did not.
   * @default Duration.minutes(1)
   */
  readonly resyncInterval?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the tables (the cluster's state) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly storeRemovalPolicy?: RemovalPolicy;
  /**
   * Where `type: LoadBalancer` Services and Ingresses get their ALBs and NLBs (docs/adr/096):
   * the cluster's VPC and, to let load balancers reach pods, the pods' security group; `false`
   * for none (such Services and Ingresses then get an Event saying the cluster has no load balancing).
   * @default - the node group's VPC and pod security group; none without nodes
   */
  readonly loadBalancing?: { readonly vpc: ec2.IVpc; readonly podSecurityGroup?: ec2.ISecurityGroup } | false;
  /**
   * The nodes: an Auto Scaling group of EC2 instances running pods as ECS tasks (ADR 132), or
   * `false` for a control plane alone.
   * @default a NodeGroup of 2 c6g.large nodes, cluster name = the stack's name
   */
  readonly nodes?: Partial<NodeGroupProps> | false;
}

/** Lambda's limit, and API Gateway's for a streamed response: the longest a watch can last. */
const WATCH_LIMIT = Duration.minutes(15);

/**
 * Stream record filters (docs/adr/071), on the objects table's partition key: the type's id. Events are written by the controllers themselves and
 * Leases are node heartbeats every 10 s; neither needs a reconcile, and the resync catches a
 * lapsed lease, so they do not invoke the controllers.
 */
const controllerFilters = [
  lambda.FilterCriteria.filter({ dynamodb: { Keys: { [attributes.partitionKey]: { S: [{ 'anything-but': [types.events.id, types.leases.id] }] } } } }),
];

/** The scheduler places new or changed pods, and retries pending ones when a node appears. */
const schedulerFilters = [types.pods, types.nodes].map((type) =>
  lambda.FilterCriteria.filter({ eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { [attributes.partitionKey]: { S: [type.id] } } } }),
);

/**
 * The Skiff control plane: the object store's tables, the Kubernetes API (a streaming Lambda
 * behind an API Gateway REST API), the controllers and the scheduler on the objects table's
 * stream, and a scheduled resync.
 */
export class SkiffStack extends Stack {
  readonly tables: StoreTables;
  readonly api: apigateway.RestApi;
  readonly tokenSecret: secretsmanager.Secret;
  readonly serviceAccountKeySecret: secretsmanager.Secret;
  readonly loadBalancing?: LoadBalancing;
  readonly nodes?: NodeGroup;

  constructor(scope: Construct, id: string, props: SkiffStackProps = {}) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.tables = new StoreTables(this, 'Store', { removalPolicy: props.storeRemovalPolicy ?? RemovalPolicy.RETAIN });
    const { objects, changes } = this.tables;
    const storeEnvironment = { OBJECTS_TABLE: objects.tableName, CHANGES_TABLE: changes.tableName };

    this.tokenSecret = new secretsmanager.Secret(this, 'ApiTokens', {
      description: 'Bearer tokens of the Skiff API (docs/adr/070). adminToken is the skiff-admin user in system:masters.',
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'adminToken', passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(
      this.tokenSecret,
      'AwsSolutions-SMG4',
      'Bearer tokens are rotated by updating the secret; the API re-reads it every 5 minutes (ADR 070). Managed rotation needs a rotation Lambda that is not built yet.',
    );

    this.serviceAccountKeySecret = new secretsmanager.Secret(this, 'ServiceAccountSigningKey', {
      description:
        'Seed of the key that signs ServiceAccount tokens (docs/adr/122). A new seed rotates the key; tokens of the previous one stay valid until they expire.',
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'seed', passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(
      this.serviceAccountKeySecret,
      'AwsSolutions-SMG4',
      'The signing key is rotated by putting a new seed; the API verifies with the current and the previous version (ADR 122). Managed rotation needs a rotation Lambda that is not built yet.',
    );

    // The API server.
    const apiFunction = new SkiffFunction(this, 'ApiServer', {
      entry: 'functions/lambda/api-handler.ts',
      description: 'the Skiff Kubernetes API server',
      timeout: WATCH_LIMIT,
      memorySize: 1024,
      logRetention,
      environment: {
        ...storeEnvironment,
        TOKEN_SECRET_ARN: this.tokenSecret.secretArn,
        SERVICE_ACCOUNT_KEY_SECRET_ARN: this.serviceAccountKeySecret.secretArn,
      },
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
        cacheEnabled: true,
        secretsManagerTtl: Duration.minutes(5),
      }),
    });
    objects.grantReadWriteData(apiFunction.function);
    changes.grantReadWriteData(apiFunction.function);
    this.tokenSecret.grantRead(apiFunction.function);
    this.serviceAccountKeySecret.grantRead(apiFunction.function);
    this.acknowledgeFunctionFindings(apiFunction, false);

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${this.stackName}-kubernetes-api`,
      description: 'The Kubernetes API of a Skiff cluster',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Request bodies reach the Lambda byte for byte (kubectl sends protobuf for some creates).
      binaryMediaTypes: ['*/*'],
      // API Gateway's logging role is one per account and region: it is kept when this stack
      // goes, as other APIs of the account may log through it.
      cloudWatchRole: true,
      deployOptions: {
        stageName: 'cluster',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Request data would include bearer tokens and Secrets.
        dataTraceEnabled: false,
        metricsEnabled: true,
      },
    });
    const integration = new apigateway.LambdaIntegration(apiFunction.function, {
      proxy: true,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      timeout: WATCH_LIMIT,
    });
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });

    if (props.nodes !== false) {
      this.nodes = new NodeGroup(this, 'Nodes', { clusterName: this.stackName, apiUrl: this.api.url, ...props.nodes });
      // `kubectl logs` reads the pods' output where their ECS tasks ship it (ADR 134).
      apiFunction.function.addEnvironment('POD_LOG_GROUP', this.nodes.podLogGroup.logGroupName);
      this.nodes.podLogGroup.grantRead(apiFunction.function);
      new CfnOutput(this, 'NodeRoleArn', { description: 'The IAM role the nodes sign in to the API with', value: this.nodes.instanceRole.roleArn });
    }
    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'Requests are validated by the API server itself against the Kubernetes schemas and answered with Kubernetes Status errors, which kubectl reads.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG3',
      'WAF is left to the operator: it costs a fixed monthly fee an idle cluster should not pay, and every request is already authenticated.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'The API server authenticates every request by bearer token (ADR 070) and answers 401 as a Kubernetes Status; an API Gateway authorizer cannot produce that response.',
    );
    acknowledge(this.api, 'AwsSolutions-COG4', 'Kubernetes clients authenticate with bearer tokens, not Cognito user pools (ADR 070).');
    acknowledge(
      this.api,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'API Gateway writes its execution logs through the account role AWS documents for it, which uses this managed policy.',
    );

    // The controllers and the scheduler, driven by the objects table's stream.
    const streamFailures = new sqs.Queue(this, 'StreamFailures', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      streamFailures,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the stream consumers; the resync reconciles what it records.',
    );

    // Load balancers go where the pods are: the node group's VPC, let into its pods' security group.
    const network =
      props.loadBalancing === false
        ? undefined
        : (props.loadBalancing ?? (this.nodes ? { vpc: this.nodes.vpc, podSecurityGroup: this.nodes.podSecurityGroup } : undefined));
    if (network) this.loadBalancing = new LoadBalancing(this, 'LoadBalancing', { ...network, clusterName: this.stackName });
    const controllerEnvironment = { ...storeEnvironment, ...(this.loadBalancing?.environment() ?? {}) };
    const controllersFunction = this.streamConsumer('Controllers', {
      entry: 'functions/lambda/controllers-handler.ts',
      description: 'the Skiff controllers (Deployment, ReplicaSet, garbage collector, namespaces, endpoints, node lifecycle, load balancers, Ingress)',
      filters: controllerFilters,
      environment: controllerEnvironment,
      logRetention,
      onFailure: streamFailures,
    });
    this.streamConsumer('Scheduler', {
      entry: 'functions/lambda/scheduler-handler.ts',
      description: 'the Skiff scheduler',
      filters: schedulerFilters,
      environment: storeEnvironment,
      logRetention,
      onFailure: streamFailures,
    });

    const resync = new SkiffFunction(this, 'Resync', {
      entry: 'functions/lambda/resync-handler.ts',
      description: 'the Skiff periodic resync of every controller',
      timeout: Duration.minutes(5),
      logRetention,
      environment: controllerEnvironment,
    });
    objects.grantReadWriteData(resync.function);
    for (const fn of [controllersFunction, resync]) this.loadBalancing?.grantControllers(fn.role);
    changes.grantReadWriteData(resync.function);
    this.acknowledgeFunctionFindings(resync, false);
    new events.Rule(this, 'ResyncSchedule', {
      description: 'Re-reconciles every object, catching anything the stream consumers missed',
      schedule: events.Schedule.rate(props.resyncInterval ?? Duration.minutes(1)),
      targets: [new targets.LambdaFunction(resync.function, { retryAttempts: 0 })],
    });

    new CfnOutput(this, 'ApiUrl', { description: 'The cluster server URL for a kubeconfig', value: this.api.url });
    new CfnOutput(this, 'TokenSecretArn', {
      description: 'aws secretsmanager get-secret-value --secret-id <this> --query SecretString: adminToken is the admin bearer token',
      value: this.tokenSecret.secretArn,
    });
    new CfnOutput(this, 'StreamFailuresQueueUrl', { description: 'Stream records the controllers or scheduler gave up on', value: streamFailures.queueUrl });
  }

  private streamConsumer(
    id: string,
    props: {
      entry: string;
      description: string;
      filters: Array<Record<string, unknown>>;
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
      onFailure: sqs.IQueue;
    },
  ): SkiffFunction {
    const consumer = new SkiffFunction(this, id, {
      entry: props.entry,
      description: props.description,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      environment: props.environment,
    });
    const { objects, changes } = this.tables;
    objects.grantReadWriteData(consumer.function);
    changes.grantReadWriteData(consumer.function);
    objects.grantStreamRead(consumer.function);
    consumer.function.addEventSource(
      new DynamoEventSource(objects, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        // Level-triggered reconcilers converge from any record; a failing record is retried
        // alone (bisect), reported per item, and parked in the queue after the last retry.
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(1),
        onFailure: new SqsDlq(props.onFailure),
        filters: props.filters,
      }),
    );
    this.acknowledgeFunctionFindings(consumer, true);
    return consumer;
  }

  /** Findings on a Skiff function that are deliberate, each explained. */
  private acknowledgeFunctionFindings(fn: SkiffFunction, readsStream: boolean): void {
    acknowledge(fn.function, 'AwsSolutions-L1', 'Skiff targets Node.js 20 (package.json engines), the runtime its tests run on; see ADR 071.');
    acknowledge(
      fn.function,
      'CloudFormation-Validate::W2531',
      'Node.js 20 is the runtime the project pins (package.json engines, tests); moving to a newer runtime is the one runtime line in SkiffFunction (ADR 071).',
    );
    if (readsStream) {
      acknowledge(
        fn.role,
        'AwsSolutions-IAM5[Resource::*]',
        'dynamodb:ListStreams has no resource-level permissions, so the stream grant lists streams on *; reading records is scoped to the objects table stream ARN.',
      );
    }
  }
}

/** Records why a cdk-nag rule does not apply to a construct (and its children). */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
