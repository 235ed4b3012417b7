import { ArnFormat, CfnOutput, type CfnResource, CustomResource, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigatewayv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration, WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { defaultServiceCidr, serviceCidrProblem } from '../functions/domain/services/service-allocation-plan.ts';
import { controllerStreamFilters, fanOutStreamFilters, schedulerStreamFilters } from '../functions/lambda/stream-filters.ts';
import { tableActions } from '../functions/store/tables.ts';
import { channelTableActions, channelTableDefinition } from '../functions/watch/channel-registry.ts';
import { nodeStatsReadActions } from '../functions/watch/node-stats-items.ts';
import { LoadBalancing } from './load-balancing.ts';
import { NodeGroup, type NodeGroupProps } from './node-group.ts';
import { SkiffFunction, type SkiffFunctionProps } from './skiff-function.ts';
import { StoreTables, tableProps } from './store-tables.ts';

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
   * IAM users or roles that administer the cluster (`system:masters`), written into
   * `kube-system/aws-auth` at deploy time. Without one, nobody can sign in with IAM until an
   * entry is added (docs/adr/072).
   * @default - none
   */
  readonly adminPrincipalArns?: readonly string[];
  /** IAM roles of the nodes' instance profiles: they sign in as `system:node:<instance id>`. @default - none */
  readonly nodeRoleArns?: readonly string[];
  /**
   * Also accept the static bearer tokens of a Secrets Manager secret (a generated `adminToken`
   * in `system:masters`): a break-glass for when IAM sign-in is not possible. The secret costs
   * $0.40 a month.
   * @default false
   */
  readonly breakGlassToken?: boolean;
  /** API Gateway stage throttling of the Kubernetes API (steady requests per second, burst). @default { rateLimit: 200, burstLimit: 400 } */
  readonly apiThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** API Gateway stage throttling of the watch channel's messages from clients. @default { rateLimit: 500, burstLimit: 1000 } */
  readonly channelThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Executions reserved for the stream consumers and the resync, which also caps them. `false`
   * reserves none: an account whose concurrency quota is still 10 (new accounts) cannot reserve
   * any, because Lambda keeps 10 unreserved.
   * `inClusterApi` caps the API function behind the function URL that pods use (no API Gateway
   * stage throttles it; a watch holds one execution while it lasts; Lambda answers 429 beyond it).
   * `heartbeat` caps the node heartbeat function behind its function URL (docs/adr/196): Lambda
   * takes up to 10 requests a second per reserved execution there, and answers 429 beyond; a
   * node whose renewal is refused sends it through the API.
   * @default { controllers: 4, scheduler: 1, resync: 1, fanOut: 2, inClusterApi: 50, heartbeat: 10 }
   */
  readonly reservedConcurrency?:
    | false
    | {
        readonly controllers: number;
        readonly scheduler: number;
        readonly resync: number;
        readonly fanOut: number;
        /** @default 50 */
        readonly inClusterApi?: number;
        /** @default 10 */
        readonly heartbeat?: number;
      };
  /** Ship and enable source maps in every function (slower cold starts). @default false */
  readonly sourceMaps?: boolean;
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
  /**
   * The service range (kube-apiserver's `--service-cluster-ip-range`): ClusterIPs come from it and
   * the `kubernetes` Service takes its first address. IPv4, /12 to /28.
   * @default '10.96.0.0/12'
   */
  readonly serviceCidr?: string;
}

const defaultReservedConcurrency = { controllers: 4, scheduler: 1, resync: 1, fanOut: 2, inClusterApi: 50, heartbeat: 10 } as const;

/** The routes of the watch channel (schemas/watch-channel.ts) that run the channel's Lambda. */
const channelRoutes = ['subscribe', 'unsubscribe', 'renewLease', 'nodeStats'] as const;

/** Lambda's limit, and API Gateway's for a streamed response: the longest a watch can last. */
const WATCH_LIMIT = Duration.minutes(15);

/**
 * The Skiff control plane: the object store's tables, the Kubernetes API (a streaming Lambda
 * behind an API Gateway REST API), the controllers and the scheduler on the objects table's
 * stream, a scheduled resync, and the bootstrap that makes a fresh cluster usable.
 */
export class SkiffStack extends Stack {
  readonly tables: StoreTables;
  readonly api: apigateway.RestApi;
  /** The API's function URL: the path-less HTTPS endpoint in-cluster clients reach (docs/adr/147). */
  readonly inClusterApiUrl: lambda.FunctionUrl;
  /** The node heartbeat endpoint: a function URL with AWS_IAM auth the nodes renew their Leases through (docs/adr/196). */
  readonly heartbeatUrl: lambda.FunctionUrl;
  readonly tokenSecret?: secretsmanager.Secret;
  readonly serviceAccountKeySecret: secretsmanager.Secret;
  /** The watch channel's WebSocket API, its stage and its connections table (docs/adr/073). */
  readonly channel: { readonly api: apigatewayv2.WebSocketApi; readonly stage: apigatewayv2.WebSocketStage; readonly table: dynamodb.Table };
  /** The id IAM sign-in tokens must be signed for (`x-k8s-aws-id`): the stack's name. */
  readonly clusterId: string;
  readonly loadBalancing?: LoadBalancing;
  readonly nodes?: NodeGroup;

  private readonly logRetention: logs.RetentionDays;
  private readonly sourceMaps: boolean;

  constructor(scope: Construct, id: string, props: SkiffStackProps = {}) {
    super(scope, id, props);
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.sourceMaps = props.sourceMaps ?? false;
    this.clusterId = this.stackName;
    const reserved = props.reservedConcurrency === false ? undefined : (props.reservedConcurrency ?? defaultReservedConcurrency);

    this.tables = new StoreTables(this, 'Store', { removalPolicy: props.storeRemovalPolicy ?? RemovalPolicy.RETAIN });
    const { objects, changes } = this.tables;
    const storeEnvironment = { OBJECTS_TABLE: objects.tableName, CHANGES_TABLE: changes.tableName };
    const serviceCidr = props.serviceCidr ?? defaultServiceCidr;
    const serviceCidrRefused = serviceCidrProblem(serviceCidr);
    if (serviceCidrRefused) throw new Error(`serviceCidr ${serviceCidr}: ${serviceCidrRefused}`);
    // The API allocates ClusterIPs from it; the controllers give the `kubernetes` Service its first address.
    const serviceRangeEnvironment = { SERVICE_CIDR: serviceCidr };

    if (props.breakGlassToken) {
      this.tokenSecret = new secretsmanager.Secret(this, 'ApiTokens', {
        description: 'Break-glass bearer tokens of the Skiff API (docs/adr/070, 072). adminToken is the skiff-admin user in system:masters.',
        generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'adminToken', passwordLength: 64, excludePunctuation: true },
      });
      acknowledge(
        this.tokenSecret,
        'AwsSolutions-SMG4',
        'Bearer tokens are rotated by updating the secret; the API re-reads it every 5 minutes (ADR 070). Managed rotation needs a rotation Lambda that is not built yet.',
      );
    }

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

    // The API server, once behind the REST API (kubectl, agents) and once behind its function
    // URL for in-cluster clients (docs/adr/147): the same code and grants, two functions so the
    // URL's traffic, which no stage throttles, is capped by its own reserved concurrency.
    const apiServer = (id: string, description: string, reservedConcurrentExecutions?: number): SkiffFunction => {
      const fn = this.function(id, {
        entry: 'functions/lambda/api-handler.ts',
        description,
        timeout: WATCH_LIMIT,
        memorySize: 1024,
        environment: {
          ...storeEnvironment,
          ...serviceRangeEnvironment,
          CLUSTER_ID: this.clusterId,
          SERVICE_ACCOUNT_KEY_SECRET_ARN: this.serviceAccountKeySecret.secretArn,
          ...(this.tokenSecret ? { TOKEN_SECRET_ARN: this.tokenSecret.secretArn } : {}),
        },
        ...(reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions } : {}),
        ...(this.tokenSecret
          ? {
              paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
                cacheEnabled: true,
                secretsManagerTtl: Duration.minutes(5),
              }),
            }
          : {}),
      });
      this.grantStore(fn);
      // The ServiceAccount signing key's seed is read with the SDK (GetSecretValue), never written.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.serviceAccountKeySecret.secretArn] }),
      );
      if (this.tokenSecret) {
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.tokenSecret.secretArn] }));
      }
      return fn;
    };
    const apiFunction = apiServer('ApiServer', 'the Skiff Kubernetes API server');
    const inClusterApiFunction = apiServer(
      'InClusterApiServer',
      'the Skiff Kubernetes API server for in-cluster clients (its function URL)',
      reserved ? (reserved.inClusterApi ?? defaultReservedConcurrency.inClusterApi) : undefined,
    );
    // HTTPS without a base path, as KUBERNETES_SERVICE_HOST/_PORT can name it. Streamed, so
    // watches work; no URL auth: the API authenticates every request itself (bearer tokens,
    // IAM sign-in tokens checked with STS), as behind the REST API's proxy.
    this.inClusterApiUrl = inClusterApiFunction.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });

    // The node heartbeat endpoint (docs/adr/196): each node's Lease renewal and Node status as one
    // invocation of a small function behind a function URL, instead of a WebSocket message or a
    // REST request. AWS_IAM auth: Lambda checks the SigV4 signature and the caller's permission
    // (the node role's, granted below) and hands the function the caller's ARN; the function
    // maps it through aws-auth and lets a node write only its own Lease and Node status.
    const heartbeatFunction = this.function('NodeHeartbeat', {
      entry: 'functions/lambda/heartbeat-handler.ts',
      description: 'the Skiff node heartbeat endpoint (Lease renewals and Node status, behind a function URL with AWS_IAM auth)',
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: storeEnvironment,
      ...(reserved ? { reservedConcurrentExecutions: reserved.heartbeat ?? defaultReservedConcurrency.heartbeat } : {}),
    });
    this.grantStore(heartbeatFunction);
    this.heartbeatUrl = heartbeatFunction.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM, invokeMode: lambda.InvokeMode.BUFFERED });
    // Node roles of the deployer's own (`nodeRoleArns`) get the same two permissions in the function's policy.
    (props.nodeRoleArns ?? []).forEach((roleArn, index) => {
      const principal = new iam.ArnPrincipal(roleArn);
      heartbeatFunction.function.addPermission(`NodeRoleInvokeUrl${index}`, {
        principal,
        action: 'lambda:InvokeFunctionUrl',
        functionUrlAuthType: lambda.FunctionUrlAuthType.AWS_IAM,
      });
      heartbeatFunction.function.addPermission(`NodeRoleInvokeViaUrl${index}`, { principal, action: 'lambda:InvokeFunction', invokedViaFunctionUrl: true });
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: this.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const throttle = props.apiThrottle ?? { rateLimit: 200, burstLimit: 400 };
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
        // A runaway client is refused with 429 before it runs up the bill.
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });
    const integration = new apigateway.LambdaIntegration(apiFunction.function, {
      proxy: true,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      timeout: WATCH_LIMIT,
    });
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });

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
      'The API server authenticates every request (IAM tokens checked with STS, ADR 072) and answers 401 as a Kubernetes Status; an API Gateway authorizer cannot produce that response.',
    );
    acknowledge(this.api, 'AwsSolutions-COG4', 'Kubernetes clients authenticate with IAM sign-in tokens (ADR 072), not Cognito user pools.');
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

    this.channel = this.watchChannel({
      storeEnvironment,
      throttle: props.channelThrottle ?? { rateLimit: 500, burstLimit: 1000 },
      onFailure: streamFailures,
      ...(reserved ? { fanOutReservedConcurrency: reserved.fanOut } : {}),
    });

    // The node group's agents take their changes over the watch channel and sign in with their
    // instance role, mapped to system:node:<instance id> by aws-auth (docs/adr/072, 073).
    if (props.nodes !== false) {
      this.nodes = new NodeGroup(this, 'Nodes', {
        clusterName: this.stackName,
        apiUrl: this.api.url,
        inClusterApiUrl: this.inClusterApiUrl.url,
        watchChannelUrl: this.channel.stage.url,
        heartbeatUrl: this.heartbeatUrl.url,
        ...props.nodes,
      });
      // lambda:InvokeFunctionUrl (for AWS_IAM URLs only) and lambda:InvokeFunction (only by way
      // of a function URL): both are needed for URLs made since October 2025, and the second's
      // condition keeps the role from invoking the function directly with an event it made up.
      this.heartbeatUrl.grantInvokeUrl(this.nodes.instanceRole);
      // `kubectl logs` reads the pods' output where their ECS tasks ship it (ADR 134).
      for (const fn of [apiFunction, inClusterApiFunction]) {
        fn.function.addEnvironment('POD_LOG_GROUP', this.nodes.podLogGroup.logGroupName);
        this.nodes.podLogGroup.grantRead(fn.function);
      }
      new CfnOutput(this, 'NodeRoleArn', { description: 'The IAM role the nodes sign in to the API with', value: this.nodes.instanceRole.roleArn });
    }

    // Load balancers go where the pods are: the node group's VPC, let into its pods' security group.
    const network =
      props.loadBalancing === false
        ? undefined
        : (props.loadBalancing ?? (this.nodes ? { vpc: this.nodes.vpc, podSecurityGroup: this.nodes.podSecurityGroup } : undefined));
    if (network) this.loadBalancing = new LoadBalancing(this, 'LoadBalancing', { ...network, clusterName: this.stackName });
    const controllerEnvironment = { ...storeEnvironment, ...serviceRangeEnvironment, ...(this.loadBalancing?.environment() ?? {}) };
    const controllersFunction = this.streamConsumer('Controllers', {
      entry: 'functions/lambda/controllers-handler.ts',
      description: 'the Skiff controllers (Deployment, ReplicaSet, garbage collector, namespaces, endpoints, node lifecycle, load balancers, Ingress)',
      filters: controllerStreamFilters.map((pattern) => lambda.FilterCriteria.filter(pattern)),
      environment: controllerEnvironment,
      onFailure: streamFailures,
      ...(reserved ? { reservedConcurrentExecutions: reserved.controllers } : {}),
    });
    // Requeues: a reconcile that asks to look again after a while (a target registering or
    // draining, a rollout waiting) is a message with that delay, delivered back to the
    // controllers (docs/adr/138). A minute's resync remains the backstop.
    const requeue = new sqs.Queue(this, 'ControllerRequeue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      // SQS wants at least the function's timeout: a batch in work is not delivered twice.
      visibilityTimeout: Duration.minutes(3),
      // Past an hour the resync has long looked at the key again.
      retentionPeriod: Duration.hours(1),
    });
    acknowledge(
      requeue,
      'AwsSolutions-SQS3',
      'A requeue is an early second look at a key the resync reconciles every minute anyway; one that keeps failing expires within the hour instead of going to a dead-letter queue.',
    );
    controllersFunction.function.addEnvironment('REQUEUE_QUEUE_URL', requeue.queueUrl);
    requeue.grantSendMessages(controllersFunction.function);
    controllersFunction.function.addEventSource(
      new SqsEventSource(requeue, {
        batchSize: 10,
        // Requeues of one key that fall due together are reconciled once.
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        // Leaves room for the stream's invocations within the function's reserved concurrency.
        maxConcurrency: 2,
      }),
    );
    this.streamConsumer('Scheduler', {
      entry: 'functions/lambda/scheduler-handler.ts',
      description: 'the Skiff scheduler',
      filters: schedulerStreamFilters.map((pattern) => lambda.FilterCriteria.filter(pattern)),
      environment: storeEnvironment,
      onFailure: streamFailures,
      ...(reserved ? { reservedConcurrentExecutions: reserved.scheduler } : {}),
    });

    const resync = this.function('Resync', {
      entry: 'functions/lambda/resync-handler.ts',
      description: 'the Skiff periodic resync of every controller',
      timeout: Duration.minutes(5),
      environment: controllerEnvironment,
      // One at a time: a resync that outlasts its period is not overlapped by the next.
      ...(reserved ? { reservedConcurrentExecutions: reserved.resync } : {}),
    });
    this.grantStore(resync);
    for (const fn of [controllersFunction, resync]) this.loadBalancing?.grantControllers(fn.role);
    // The nodes' figures (docs/adr/193): the agents send them over the watch channel, whose Lambda
    // keeps one item a node in its table; the metrics API and the autoscaler controller (stream,
    // requeue and resync) read those items, and only read them.
    for (const fn of [apiFunction, inClusterApiFunction, controllersFunction, resync]) {
      fn.function.addEnvironment('CHANNEL_TABLE', this.channel.table.tableName);
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...nodeStatsReadActions], resources: [this.channel.table.tableArn] }));
    }
    // Service names in the VPC (docs/adr/146): `<svc>.<ns>.svc.cluster.local` answers with the
    // ready pod IPs, kept by the service discovery controller in an AWS Cloud Map namespace.
    if (this.nodes) {
      const serviceNames = new servicediscovery.PrivateDnsNamespace(this, 'ServiceNames', {
        name: 'svc.cluster.local',
        vpc: this.nodes.vpc,
        description: `Kubernetes Service names of ${this.stackName}`,
      });
      const hostedZoneId = (serviceNames.node.defaultChild as servicediscovery.CfnPrivateDnsNamespace).attrHostedZoneId;
      const services = this.formatArn({ service: 'servicediscovery', resource: 'service', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
      for (const fn of [controllersFunction, resync]) {
        fn.function.addEnvironment('SERVICE_DISCOVERY_NAMESPACE_ID', serviceNames.namespaceId);
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListServiceNames', actions: ['servicediscovery:ListServices'], resources: ['*'] }));
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'CreateServiceNames',
            actions: ['servicediscovery:CreateService', 'servicediscovery:TagResource'],
            resources: [serviceNames.namespaceArn, services],
          }),
        );
        // Services of the cluster's namespace only.
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'KeepServiceNames',
            actions: [
              'servicediscovery:DeleteService',
              'servicediscovery:ListInstances',
              'servicediscovery:RegisterInstance',
              'servicediscovery:DeregisterInstance',
            ],
            resources: [services],
            conditions: { ArnEquals: { 'servicediscovery:NamespaceArn': serviceNames.namespaceArn } },
          }),
        );
        // What Cloud Map does in the namespace's hosted zone on the caller's behalf.
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'ServiceNameRecords',
            actions: ['route53:GetHostedZone', 'route53:ChangeResourceRecordSets'],
            resources: [`arn:${this.partition}:route53:::hostedzone/${hostedZoneId}`],
          }),
        );
        acknowledge(fn.role, 'AwsSolutions-IAM5[Resource::*]', 'servicediscovery:ListServices has no resource-level permission.');
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:servicediscovery:${nagValue(this.region, 'AWS::Region')}:${nagValue(this.account, 'AWS::AccountId')}:service/*]`,
          'Cloud Map services are made by the controller, so their ids are not known to the stack; the instance actions are limited to the cluster namespace by servicediscovery:NamespaceArn.',
        );
      }
    }
    // The next scheduled run repairs what a failed one did not: no retries, and a run that could
    // not start within a minute (the previous one still running) is dropped, not queued.
    resync.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    new events.Rule(this, 'ResyncSchedule', {
      description: 'Re-reconciles every object, catching anything the stream consumers missed',
      schedule: events.Schedule.rate(props.resyncInterval ?? Duration.minutes(1)),
      targets: [new targets.LambdaFunction(resync.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    // The bootstrap: the system namespaces and the IAM mapping exist once the deploy is done.
    const bootstrap = this.function('Bootstrap', {
      entry: 'functions/lambda/bootstrap-handler.ts',
      description: 'the Skiff cluster bootstrap (system namespaces, kube-system/aws-auth), a CloudFormation custom resource',
      timeout: Duration.minutes(2),
      environment: storeEnvironment,
    });
    this.grantStore(bootstrap);
    new CustomResource(this, 'ClusterBootstrap', {
      serviceToken: bootstrap.function.functionArn,
      resourceType: 'Custom::SkiffBootstrap',
      properties: {
        AdminPrincipalArns: [...(props.adminPrincipalArns ?? [])],
        NodeRoleArns: [...(props.nodeRoleArns ?? []), ...(this.nodes ? [this.nodes.instanceRole.roleArn] : [])],
      },
    });

    new CfnOutput(this, 'ApiUrl', { description: 'The cluster server URL for a kubeconfig', value: this.api.url });
    new CfnOutput(this, 'InClusterApiUrl', {
      description: 'The API without a base path, for in-cluster clients (KUBERNETES_SERVICE_HOST of the pods; docs/adr/147)',
      value: this.inClusterApiUrl.url,
    });
    new CfnOutput(this, 'ClusterId', { description: 'The cluster id IAM sign-in tokens are signed for (skiff token --cluster-id)', value: this.clusterId });
    new CfnOutput(this, 'Region', { description: 'The region of the cluster, and of the STS endpoint its tokens name', value: this.region });
    new CfnOutput(this, 'HeartbeatUrl', {
      description: 'The node heartbeat endpoint (a function URL with AWS_IAM auth): Lease renewals and Node status of the nodes (docs/adr/196)',
      value: this.heartbeatUrl.url,
    });
    new CfnOutput(this, 'WatchChannelUrl', { description: 'The WebSocket URL node agents take their changes from', value: this.channel.stage.url });
    if (this.tokenSecret) {
      new CfnOutput(this, 'TokenSecretArn', {
        description: 'Break-glass: aws secretsmanager get-secret-value --secret-id <this> --query SecretString: adminToken is an admin bearer token',
        value: this.tokenSecret.secretArn,
      });
    }
    new CfnOutput(this, 'StreamFailuresQueueUrl', { description: 'Stream records the controllers or scheduler gave up on', value: streamFailures.queueUrl });
  }

  /**
   * The watch channel (docs/adr/073): a WebSocket API whose routes run one Lambda (ping is
   * answered by API Gateway itself), a table of connections and subscriptions, and the fan-out on
   * the change log's stream, filtered to new entries of the types agents subscribe to.
   */
  private watchChannel(props: {
    storeEnvironment: Record<string, string>;
    throttle: { rateLimit: number; burstLimit: number };
    onFailure: sqs.IQueue;
    fanOutReservedConcurrency?: number;
  }): SkiffStack['channel'] {
    const table = new dynamodb.Table(this, 'ChannelConnections', {
      ...tableProps(channelTableDefinition, RemovalPolicy.DESTROY),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      deletionProtection: false,
    });
    acknowledge(
      table,
      'AwsSolutions-DDB3',
      'The connections table holds only who is connected right now; it is rebuilt as agents reconnect, so there is nothing to recover.',
    );
    const grantChannelTable = (fn: SkiffFunction) =>
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...channelTableActions], resources: [table.tableArn] }));

    const handler = this.function('WatchChannel', {
      entry: 'functions/lambda/channel-handler.ts',
      description: 'the Skiff watch channel (WebSocket routes: connect, subscribe with catch-up, Lease renewals, node figures)',
      // API Gateway waits 29 s for a route's integration.
      timeout: Duration.seconds(29),
      memorySize: 256,
      environment: { ...props.storeEnvironment, CHANNEL_TABLE: table.tableName, CLUSTER_ID: this.clusterId },
    });
    this.grantStore(handler);
    grantChannelTable(handler);
    const integration = new WebSocketLambdaIntegration('ChannelRoutes', handler.function);
    const api = new apigatewayv2.WebSocketApi(this, 'WatchChannelApi', {
      apiName: `${this.stackName}-watch-channel`,
      description: 'The watch channel of a Skiff cluster: node agents take their changes from it',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    for (const route of channelRoutes) api.addRoute(route, { integration });
    // A ping only keeps the connection from idling out: API Gateway answers it without a Lambda.
    api.addRoute('ping', { integration: new WebSocketMockIntegration('Ping') });
    const accessLogs = new logs.LogGroup(this, 'WatchChannelAccessLogs', { retention: this.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const stage = new apigatewayv2.WebSocketStage(this, 'WatchChannelStage', {
      webSocketApi: api,
      stageName: 'cluster',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigatewayv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
          }),
        ),
      },
    });
    // How cdk-nag names the grant's resource: the API by its logical id, region and account as given.
    const connectionsFinding = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region}:${
      Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account
    }:<${this.resolve((api.node.defaultChild as CfnResource).logicalId)}>/cluster/*/@connections/*]`;
    const connectionsReason = "execute-api:ManageConnections is granted on the stage's @connections/*: connection ids are made by API Gateway at run time.";
    stage.grantManagementApiAccess(handler.role);
    acknowledge(handler.role, connectionsFinding, connectionsReason);
    acknowledge(
      api,
      'AwsSolutions-APIG4',
      'The $connect route authenticates the bearer token (IAM sign-in, ADR 072) in the channel Lambda, as the REST API does; other routes act only for connections it let in.',
    );

    const fanOut = this.function('WatchFanOut', {
      entry: 'functions/lambda/fan-out-handler.ts',
      description: 'the Skiff watch channel fan-out (change log stream to subscribed connections)',
      timeout: Duration.minutes(1),
      memorySize: 256,
      environment: { CHANNEL_TABLE: table.tableName, CHANNEL_ENDPOINT: stage.callbackUrl },
      ...(props.fanOutReservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.fanOutReservedConcurrency } : {}),
    });
    grantChannelTable(fanOut);
    stage.grantManagementApiAccess(fanOut.role);
    acknowledge(fanOut.role, connectionsFinding, connectionsReason);

    this.tables.changes.grantStreamRead(fanOut.function);
    acknowledge(
      fanOut.role,
      'AwsSolutions-IAM5[Resource::*]',
      "dynamodb:ListStreams has no resource-level permissions, so the stream grant lists streams on *; reading records is scoped to the change log's stream ARN.",
    );
    fanOut.function.addEventSource(
      new DynamoEventSource(this.tables.changes, {
        // What came before a deploy is caught up by agents on reconnect.
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 5,
        // A change older than the change log's retention is caught up by a relist anyway.
        maxRecordAge: Duration.minutes(10),
        onFailure: new SqsDlq(props.onFailure),
        filters: fanOutStreamFilters.map((pattern) => lambda.FilterCriteria.filter(pattern)),
      }),
    );
    return { api, stage, table };
  }

  /** A Skiff function with the stack's log retention and source map setting, its findings acknowledged. */
  private function(id: string, props: Omit<SkiffFunctionProps, 'logRetention' | 'sourceMaps'>): SkiffFunction {
    const fn = new SkiffFunction(this, id, { ...props, logRetention: this.logRetention, sourceMaps: this.sourceMaps });
    acknowledge(
      fn.function,
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the project targets (ADR 071); the check asks for the newest runtime Lambda offers, which the code is not yet tested on.',
    );
    return fn;
  }

  /** The store's calls on its tables, and nothing more (no dynamodb:*). */
  private grantStore(fn: SkiffFunction): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...tableActions.read, ...tableActions.write],
        resources: [this.tables.objects.tableArn, this.tables.changes.tableArn],
      }),
    );
  }

  private streamConsumer(
    id: string,
    props: {
      entry: string;
      description: string;
      filters: Array<Record<string, unknown>>;
      environment: Record<string, string>;
      onFailure: sqs.IQueue;
      reservedConcurrentExecutions?: number;
    },
  ): SkiffFunction {
    const consumer = this.function(id, {
      entry: props.entry,
      description: props.description,
      timeout: Duration.minutes(2),
      environment: props.environment,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    });
    this.grantStore(consumer);
    this.tables.objects.grantStreamRead(consumer.function);
    consumer.function.addEventSource(
      new DynamoEventSource(this.tables.objects, {
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
    acknowledge(
      consumer.role,
      'AwsSolutions-IAM5[Resource::*]',
      'dynamodb:ListStreams has no resource-level permissions, so the stream grant lists streams on *; reading records is scoped to the stream ARN.',
    );
    return consumer;
  }
}

/** How cdk-nag writes a value of an ARN: the literal, or the pseudo parameter a token stands for. */
function nagValue(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

/** Records why a cdk-nag rule does not apply to a construct (and its children). */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
