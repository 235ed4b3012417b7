import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkiffStack } from '../../cdk/skiff-stack.ts';
import { tableActions } from '../../functions/store/tables.ts';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const outdirs: string[] = [];
/**
 * An app with cdk-nag. Only the main stack (`Skiff`) has its functions bundled by esbuild; the
 * variants built to check one property each skip bundling (CDK's `aws:cdk:bundling-stacks`), which
 * would otherwise take minutes on a busy machine and shows nothing new.
 */
function newApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'skiff-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': ['Skiff'] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('SkiffStack', () => {
  let app: App;
  let template: Template;

  before(() => {
    app = newApp();
    const stack = new SkiffStack(app, 'Skiff', { env: { account: '123456789012', region: 'eu-west-1' } });
    template = Template.fromStack(stack);
  });

  after(() => {
    for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
  });

  it('synthesises with every cdk-nag AwsSolutions finding fixed or acknowledged with a reason', () => {
    assert.doesNotThrow(() => app.synth({ force: true }));
  });

  it('stores objects in a table with a NEW_AND_OLD_IMAGES stream and point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sk', AttributeType: 'S' }]),
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('compacts the change log with TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sk', AttributeType: 'N' }]),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('keeps the store tables when the stack is deleted', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Record<
      string,
      { DeletionPolicy?: string; Properties: { DeletionProtectionEnabled?: boolean } }
    >;
    const store = Object.entries(tables).filter(([id]) => id.startsWith('Store'));
    assert.equal(store.length, 2);
    for (const [, table] of store) {
      assert.equal(table.DeletionPolicy, 'Retain');
      assert.equal(table.Properties.DeletionProtectionEnabled, true);
    }
  });

  it('serves the API from a regional REST API with a {proxy+} resource that passes bodies as binary', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['*/*'],
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
  });

  it('streams responses from the API Lambda for up to 15 minutes', () => {
    const methods = template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'ANY' } }) as Resources;
    assert.equal(Object.keys(methods).length, 2, 'ANY on / and on {proxy+}');
    for (const method of Object.values(methods)) {
      const integration = method.Properties.Integration as Record<string, unknown>;
      assert.equal(integration.Type, 'AWS_PROXY');
      assert.equal(integration.ResponseTransferMode, 'STREAM');
      assert.equal(integration.TimeoutInMillis, 900_000);
      assert.match(JSON.stringify(integration.Uri), /2021-11-15\/functions\/.*\/response-streaming-invocations/);
    }
  });

  it('logs API access to a log group, without request data', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: [Match.objectLike({ DataTraceEnabled: false, LoggingLevel: 'ERROR' })],
    });
  });

  it('runs every function on Node.js 22, arm64, with a log group that has a retention and no source maps on cold start', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][];
    assert.equal(
      functions.length,
      9,
      'API server (REST API), API server (function URL), controllers, scheduler, resync, bootstrap, watch channel, fan-out, node heartbeat',
    );
    for (const fn of functions) {
      assert.equal(fn.Properties.Runtime, 'nodejs22.x');
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      const logGroup = (fn.Properties.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup;
      assert.ok(logGroup, 'writes to its own log group');
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      assert.equal(variables.NODE_OPTIONS, undefined, 'source maps cost every cold start; off unless asked');
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup')) as Resources[string][]) {
      assert.equal(typeof group.Properties.RetentionInDays, 'number');
    }
  });

  it('turns source maps on only when asked', () => {
    const withMaps = Template.fromStack(new SkiffStack(newApp(), 'WithMaps', { env: { account: '123456789012', region: 'eu-west-1' }, sourceMaps: true }));
    const functions = Object.values(withMaps.findResources('AWS::Lambda::Function')) as Resources[string][];
    for (const fn of functions) {
      assert.equal((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS, '--enable-source-maps');
    }
  });

  it('gives the API server, the controllers and the resync the service range, and refuses one kube-apiserver would refuse', () => {
    const ranged = Template.fromStack(
      new SkiffStack(newApp(), 'Ranged', { env: { account: '123456789012', region: 'eu-west-1' }, serviceCidr: '172.20.0.0/16' }),
    );
    const functions = Object.values(ranged.findResources('AWS::Lambda::Function')) as Resources[string][];
    const withRange = functions.filter((fn) => (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.SERVICE_CIDR);
    const handlers = withRange.map((fn) => String((fn.Properties.Description as string | undefined) ?? '')).join('\n');
    assert.ok(withRange.every((fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.SERVICE_CIDR === '172.20.0.0/16'));
    assert.match(handlers, /controllers/);
    assert.match(handlers, /resync/);
    assert.ok(withRange.length >= 4, `the two API functions, the controllers and the resync: ${withRange.length}`);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SERVICE_CIDR: '10.96.0.0/12' }) } });
    for (const [cidr, message] of [
      ['10.0.0.0/8', /too large; for 32-bit addresses, the mask must be >= 12/],
      ['10.96.0.0/29', /at least 16 IP addresses/],
      ['fd00::/108', /IPv4 service ranges only/],
      ['10.96.0/12', /not a valid cidr/],
    ] as const) {
      assert.throws(() => new SkiffStack(newApp(), 'BadRange', { serviceCidr: cidr }), message, cidr);
    }
  });

  it('gives the API server its tables and cluster id, and no static token unless break-glass is asked for', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ OBJECTS_TABLE: Match.anyValue(), CHANGES_TABLE: Match.anyValue(), CLUSTER_ID: 'Skiff' }) },
    });
    // The only secret is the ServiceAccount key seed: no static admin token.
    const tokenSecrets = template.findResources('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'adminToken' }) },
    });
    assert.deepEqual(Object.keys(tokenSecrets), []);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][]) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      assert.equal(variables.TOKEN_SECRET_ARN, undefined);
    }
    const glass = Template.fromStack(new SkiffStack(newApp(), 'BreakGlass', { env: { account: '123456789012', region: 'eu-west-1' }, breakGlassToken: true }));
    glass.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TOKEN_SECRET_ARN: Match.anyValue() }) },
      Layers: [Match.anyValue()],
    });
    glass.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'adminToken', PasswordLength: 64 }),
    });
  });

  it('gives the API server the ServiceAccount signing key seed, a generated secret it may only read', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'seed', PasswordLength: 64 }),
    });
    const secrets = template.findResources('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'seed' }) },
    });
    const [secretId] = Object.keys(secrets);
    assert.ok(secretId);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SERVICE_ACCOUNT_KEY_SECRET_ARN: { Ref: secretId } }) },
    });
    const grants = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes(`"Ref":"${secretId}"`),
    );
    assert.equal(grants.length, 2, 'the API server behind the REST API and the one behind the function URL may read it');
    for (const grant of grants) {
      assert.match(JSON.stringify(grant.Properties.PolicyDocument), /secretsmanager:GetSecretValue/);
      assert.doesNotMatch(JSON.stringify(grant.Properties.PolicyDocument), /secretsmanager:PutSecretValue/);
    }
  });

  it('throttles the API stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'cluster',
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 })],
    });
  });

  it('reserves concurrency for the stream consumers and the resync, and none when told not to', () => {
    const reservations = (t: Template) =>
      (Object.values(t.findResources('AWS::Lambda::Function')) as Resources[string][])
        .map((fn) => [String(fn.Properties.Description), fn.Properties.ReservedConcurrentExecutions] as const)
        .filter(([, reserved]) => reserved !== undefined)
        .sort();
    assert.deepEqual(reservations(template), [
      ['the Skiff Kubernetes API server for in-cluster clients (its function URL)', 50],
      ['the Skiff controllers (Deployment, ReplicaSet, garbage collector, namespaces, endpoints, node lifecycle, load balancers, Ingress)', 4],
      ['the Skiff node heartbeat endpoint (Lease renewals and Node status, behind a function URL with AWS_IAM auth)', 10],
      ['the Skiff periodic resync of every controller', 1],
      ['the Skiff scheduler', 1],
      ['the Skiff watch channel fan-out (change log stream to subscribed connections)', 2],
    ]);
    const none = Template.fromStack(
      new SkiffStack(newApp(), 'NoReservations', { env: { account: '123456789012', region: 'eu-west-1' }, reservedConcurrency: false }),
    );
    assert.deepEqual(reservations(none), []);
  });

  it('runs the resync without retries, and drops a run that cannot start while the last one runs', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
  });

  it('bootstraps the system namespaces and aws-auth with a custom resource on every deploy', () => {
    const app = newApp();
    const stack = new SkiffStack(app, 'Declared', {
      env: { account: '123456789012', region: 'eu-west-1' },
      adminPrincipalArns: ['arn:aws:iam::123456789012:role/Admins'],
      nodeRoleArns: ['arn:aws:iam::123456789012:role/Nodes'],
    });
    const declared = Template.fromStack(stack);
    assert.ok(stack.nodes, 'the stack has its node group');
    const nodeRole = stack.getLogicalId(stack.nodes.instanceRole.node.defaultChild as CfnElement);
    declared.hasResourceProperties('Custom::SkiffBootstrap', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BootstrapFunction'), 'Arn'] },
      AdminPrincipalArns: ['arn:aws:iam::123456789012:role/Admins'],
      // The declared node roles and the node group's own: its instances sign in as system:node:<instance id>.
      NodeRoleArns: ['arn:aws:iam::123456789012:role/Nodes', { 'Fn::GetAtt': [nodeRole, 'Arn'] }],
    });
    declared.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Description: Match.stringLikeRegexp('bootstrap'),
      Environment: { Variables: Match.objectLike({ OBJECTS_TABLE: Match.anyValue(), CHANGES_TABLE: Match.anyValue() }) },
    });
  });

  it("gives the node group's agents the watch channel in their kubeconfig", () => {
    const templates = Object.values(template.findResources('AWS::EC2::LaunchTemplate')) as Resources[string][];
    assert.equal(templates.length, 1);
    const userData = JSON.stringify(templates[0]?.Properties.LaunchTemplateData);
    assert.match(userData, /- name: skiff\.io\/watch-channel/);
    const [channelApi] = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'));
    assert.ok(channelApi);
    assert.ok(userData.includes(`"Ref":"${channelApi}"`), 'the kubeconfig names the WebSocket API');
  });

  it('serves the API without a base path from a streamed function URL that pods reach, its output, and the nodes told of it', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'the Skiff Kubernetes API server for in-cluster clients (its function URL)' },
    }) as Resources;
    const [inCluster] = Object.keys(functions);
    assert.ok(inCluster);
    const fn = functions[inCluster]?.Properties ?? {};
    assert.equal(fn.Timeout, 900, 'a watch lasts up to 15 minutes');
    assert.equal(fn.ReservedConcurrentExecutions, 50, 'no stage throttles the URL: reserved concurrency caps it');
    assert.equal(fn.Handler, 'index.handler');
    template.resourceCountIs('AWS::Lambda::Url', 2);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
      TargetFunctionArn: { 'Fn::GetAtt': [inCluster, 'Arn'] },
    });
    assert.equal(JSON.stringify(template.findResources('AWS::Lambda::Url')).includes('"Cors"'), false, 'no CORS: browsers are not its clients');
    // A public URL is invocable by anyone, through the URL only; the API authenticates each request.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: { 'Fn::GetAtt': [inCluster, 'Arn'] },
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [inCluster, 'Arn'] },
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
    const [url] = Object.keys(template.findResources('AWS::Lambda::Url', { Properties: { AuthType: 'NONE' } }));
    assert.ok(url);
    template.hasOutput('InClusterApiUrl', { Value: { 'Fn::GetAtt': [url, 'FunctionUrl'] } });
    // The same code, tables and key as the REST API's function.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'the Skiff Kubernetes API server for in-cluster clients (its function URL)',
      Environment: {
        Variables: Match.objectLike({
          OBJECTS_TABLE: Match.anyValue(),
          CHANGES_TABLE: Match.anyValue(),
          CLUSTER_ID: 'Skiff',
          SERVICE_ACCOUNT_KEY_SECRET_ARN: Match.anyValue(),
          POD_LOG_GROUP: Match.anyValue(),
        }),
      },
    });
    // The nodes' kubeconfig names it, for the agents to give pods as KUBERNETES_SERVICE_HOST/_PORT.
    const userData = JSON.stringify(
      (Object.values(template.findResources('AWS::EC2::LaunchTemplate')) as Resources[string][])[0]?.Properties.LaunchTemplateData,
    );
    assert.match(userData, /- name: skiff\.io\/in-cluster-server\\n/);
    assert.ok(userData.includes(`{"Fn::GetAtt":["${url}","FunctionUrl"]}`), 'the kubeconfig names the function URL');
  });

  it('serves the node heartbeat from a small function behind a function URL with AWS_IAM auth, that only the node role may call, and only through the URL', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'the Skiff node heartbeat endpoint (Lease renewals and Node status, behind a function URL with AWS_IAM auth)' },
    }) as Resources;
    const [heartbeat] = Object.keys(functions);
    assert.ok(heartbeat);
    const fn = functions[heartbeat]?.Properties ?? {};
    assert.equal(fn.Runtime, 'nodejs22.x');
    assert.deepEqual(fn.Architectures, ['arm64']);
    assert.equal(fn.MemorySize, 256);
    assert.equal(fn.Timeout, 10);
    assert.equal(
      fn.ReservedConcurrentExecutions,
      10,
      'Lambda takes 10 requests a second per reserved execution on a URL: 100 a second, 2,000 nodes at one renewal in 20 s',
    );
    assert.deepEqual(Object.keys((fn.Environment as { Variables: Record<string, unknown> }).Variables).sort(), ['CHANGES_TABLE', 'OBJECTS_TABLE']);
    // Its own log group, with the stack's retention.
    const logGroup = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
    assert.equal((template.findResources('AWS::Logs::LogGroup')[logGroup] as Resources[string]).Properties.RetentionInDays, 30);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [heartbeat, 'Arn'] },
    });
    // No public permission on it: the URL's callers are IAM principals with an identity policy.
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')) as Resources[string][];
    assert.equal(
      permissions.filter((p) => JSON.stringify(p.Properties.FunctionName).includes(heartbeat)).length,
      0,
      'no resource policy for the node group role: its own policy grants it',
    );
    // The node role: InvokeFunctionUrl for an AWS_IAM URL, InvokeFunction only by way of a function URL.
    const nodeRole = nodeInstanceRole(template);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    const statements = policies
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(nodeRole))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement)
      .filter((statement) => JSON.stringify(statement.Resource).includes(heartbeat));
    assert.deepEqual(
      statements.map((statement) => [statement.Action, statement.Condition, statement.Resource]),
      [
        ['lambda:InvokeFunctionUrl', { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } }, { 'Fn::GetAtt': [heartbeat, 'Arn'] }],
        ['lambda:InvokeFunction', { Bool: { 'lambda:InvokedViaFunctionUrl': true } }, { 'Fn::GetAtt': [heartbeat, 'Arn'] }],
      ],
    );
    // Its URL is an output, and the nodes' kubeconfig names it, to be signed in the node's region.
    const [url] = Object.keys(template.findResources('AWS::Lambda::Url', { Properties: { AuthType: 'AWS_IAM' } }));
    assert.ok(url);
    template.hasOutput('HeartbeatUrl', { Value: { 'Fn::GetAtt': [url, 'FunctionUrl'] } });
    const userData = JSON.stringify(
      (Object.values(template.findResources('AWS::EC2::LaunchTemplate')) as Resources[string][])[0]?.Properties.LaunchTemplateData,
    );
    assert.match(userData, /- name: skiff\.io\/heartbeat\\n {6}extension:\\n {8}url: /);
    assert.ok(
      userData.includes(`{"Fn::GetAtt":["${url}","FunctionUrl"]},"\\n        auth: aws-iam\\n        region: $REGION\\n`),
      'signed with the instance role in its region',
    );
  });

  it("lets declared node roles call the heartbeat endpoint through the function's policy, as the node group role through its own", () => {
    const declared = Template.fromStack(
      new SkiffStack(newApp(), 'DeclaredNodes', {
        env: { account: '123456789012', region: 'eu-west-1' },
        nodeRoleArns: ['arn:aws:iam::123456789012:role/OwnNodes'],
        nodes: false,
      }),
    );
    const [heartbeat] = Object.keys(declared.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('node heartbeat') } }));
    assert.ok(heartbeat);
    declared.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: { 'Fn::GetAtt': [heartbeat, 'Arn'] },
      Principal: 'arn:aws:iam::123456789012:role/OwnNodes',
      FunctionUrlAuthType: 'AWS_IAM',
    });
    declared.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [heartbeat, 'Arn'] },
      Principal: 'arn:aws:iam::123456789012:role/OwnNodes',
      InvokedViaFunctionUrl: true,
    });
    assert.equal(
      Object.keys(declared.findResources('AWS::Lambda::Permission', { Properties: { Principal: '*', FunctionName: { 'Fn::GetAtt': [heartbeat, 'Arn'] } } }))
        .length,
      0,
    );
  });

  it('names the outputs skiff kubeconfig reads', () => {
    template.hasOutput('ApiUrl', Match.anyValue());
    template.hasOutput('ClusterId', { Value: 'Skiff' });
    template.hasOutput('Region', { Value: 'eu-west-1' });
  });

  it('serves the watch channel from a WebSocket API routed on the action, one Lambda behind its routes and ping answered by API Gateway', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as Resources[string][];
    assert.deepEqual(routes.map((route) => route.Properties.RouteKey).sort(), [
      '$connect',
      '$default',
      '$disconnect',
      'nodeStats',
      'ping',
      'renewLease',
      'subscribe',
      'unsubscribe',
    ]);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration') as Resources;
    const integrationType = (route: Resources[string]) => {
      const target = JSON.stringify(route.Properties.Target);
      const id = Object.keys(integrations).find((logicalId) => target.includes(logicalId));
      return id ? integrations[id]?.Properties.IntegrationType : undefined;
    };
    for (const route of routes) assert.equal(integrationType(route), route.Properties.RouteKey === 'ping' ? 'MOCK' : 'AWS_PROXY');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('watch channel \\(WebSocket routes'),
      Timeout: 29,
      Environment: { Variables: Match.objectLike({ CHANNEL_TABLE: Match.anyValue(), CLUSTER_ID: 'Skiff', OBJECTS_TABLE: Match.anyValue() }) },
    });
  });

  it('throttles the watch channel stage and logs its access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'cluster',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 }),
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
    });
    template.hasOutput('WatchChannelUrl', Match.anyValue());
  });

  it('keeps connections and subscriptions in a table that expires them by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      StreamSpecification: Match.absent(),
    });
  });

  it('fans out from the change log stream, filtered to new entries of the channel types, with failures reported per record', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sk', AttributeType: 'N' }]),
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    const changesTable = Object.keys(tables).find((id) => JSON.stringify(tables[id]?.Properties.AttributeDefinitions).includes('"N"')) ?? '';
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resources[string][];
    const fanOut = mappings.filter((mapping) => JSON.stringify(mapping.Properties.EventSourceArn).includes(changesTable));
    assert.equal(fanOut.length, 1);
    const mapping = fanOut[0]!;
    assert.deepEqual(mapping.Properties.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(mapping.Properties.StartingPosition, 'LATEST');
    assert.ok((mapping.Properties.DestinationConfig as { OnFailure?: unknown }).OnFailure);
    const patterns = (mapping.Properties.FilterCriteria as { Filters: Array<{ Pattern: string }> }).Filters.map((f) => JSON.parse(f.Pattern));
    assert.deepEqual(patterns, [
      { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: ['core/pods', 'core/services', 'core/endpoints', 'discovery.k8s.io/endpointslices'] } } } },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('fan-out'),
      Environment: { Variables: Match.objectLike({ CHANNEL_TABLE: Match.anyValue(), CHANNEL_ENDPOINT: Match.anyValue() }) },
    });
  });

  it('lets the channel and the fan-out post to connections of their own stage only', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    const manage = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement.filter((statement) =>
        [statement.Action].flat().includes('execute-api:ManageConnections'),
      ),
    );
    assert.equal(manage.length, 2);
    for (const statement of manage) assert.match(JSON.stringify(statement.Resource), /\/cluster\/\*\/@connections\/\*/);
  });

  it('feeds the controllers and the scheduler from the objects stream with per-record failure reporting', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    const objectsTable = Object.keys(tables).find((id) => JSON.stringify(tables[id]?.Properties.StreamSpecification).includes('NEW_AND_OLD_IMAGES')) ?? '';
    const mappings = (Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resources[string][]).filter((mapping) =>
      JSON.stringify(mapping.Properties.EventSourceArn).includes(objectsTable),
    );
    assert.equal(mappings.length, 2);
    for (const mapping of mappings) {
      assert.deepEqual(mapping.Properties.FunctionResponseTypes, ['ReportBatchItemFailures']);
      assert.equal(mapping.Properties.BisectBatchOnFunctionError, true);
      assert.ok((mapping.Properties.DestinationConfig as { OnFailure?: unknown }).OnFailure, 'failed records go to a queue');
      assert.ok(Array.isArray((mapping.Properties.FilterCriteria as { Filters?: unknown[] }).Filters));
      assert.match(JSON.stringify(mapping.Properties.EventSourceArn), /StreamArn/);
    }
    const patterns = mappings.flatMap((m) =>
      (m.Properties.FilterCriteria as { Filters: Array<{ Pattern: string }> }).Filters.map((f) => JSON.parse(f.Pattern)),
    );
    assert.deepEqual(patterns, [
      { dynamodb: { Keys: { pk: { S: [{ 'anything-but': ['core/events', 'coordination.k8s.io/leases'] }] } } } },
      { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: ['core/pods'] } } } },
      { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: ['core/nodes'] } } } },
    ]);
  });

  it('sends the controllers their requeues through a queue they alone may send to and consume, with per-message failure reporting', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    const requeueId = Object.keys(queues).find((id) => id.startsWith('ControllerRequeue')) ?? '';
    const queue = queues[requeueId]?.Properties;
    assert.ok(queue, 'the requeue queue');
    assert.equal(queue.VisibilityTimeout, 180, 'at least the function timeout (120 s)');
    assert.equal(queue.MessageRetentionPeriod, 3600);
    assert.equal(queue.SqsManagedSseEnabled, true);
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    const controllersId = Object.keys(functions).find((id) => String(functions[id]?.Properties.Description).startsWith('the Skiff controllers')) ?? '';
    const controllers = functions[controllersId];
    assert.ok(controllers, 'the controllers function');
    const environment = (controllers.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(environment.REQUEUE_QUEUE_URL, { Ref: requeueId });
    const mappings = (Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resources[string][]).filter((mapping) =>
      JSON.stringify(mapping.Properties.EventSourceArn).includes(requeueId),
    );
    assert.equal(mappings.length, 1);
    assert.deepEqual(mappings[0]?.Properties.FunctionName, { Ref: controllersId });
    assert.deepEqual(mappings[0]?.Properties.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(mappings[0]?.Properties.BatchSize, 10);
    assert.equal(mappings[0]?.Properties.MaximumBatchingWindowInSeconds, 1);
    assert.deepEqual(mappings[0]?.Properties.ScalingConfig, { MaximumConcurrency: 2 });
    // Who may touch the queue: the controllers' role only, sending and consuming, on this queue's ARN.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    const onQueue = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement.filter((statement) =>
        JSON.stringify(statement.Resource).includes(requeueId),
      ).map((statement) => ({ roles: policy.Properties.Roles, actions: [statement.Action].flat().sort(), resource: statement.Resource })),
    );
    const controllersRole = (controllers.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    assert.ok(onQueue.length > 0);
    for (const grant of onQueue) {
      assert.deepEqual(grant.roles, [{ Ref: controllersRole }]);
      assert.deepEqual(grant.resource, { 'Fn::GetAtt': [requeueId, 'Arn'] });
    }
    assert.deepEqual([...new Set(onQueue.flatMap((grant) => grant.actions))].sort(), [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
  });

  it('keeps Service names in a Cloud Map private DNS namespace svc.cluster.local of the nodes VPC, for the controllers and the resync', () => {
    const namespaces = template.findResources('AWS::ServiceDiscovery::PrivateDnsNamespace') as Resources;
    const [namespaceId, namespace] = Object.entries(namespaces)[0] ?? [];
    assert.equal(Object.keys(namespaces).length, 1);
    assert.equal(namespace?.Properties.Name, 'svc.cluster.local');
    assert.ok(JSON.stringify(namespace?.Properties.Vpc).includes('Vpc'), 'in the node group VPC');
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][];
    const withNames = functions.filter(
      (fn) => (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.SERVICE_DISCOVERY_NAMESPACE_ID,
    );
    assert.deepEqual(withNames.map((fn) => String(fn.Properties.Description).split(' (')[0]).sort(), [
      'the Skiff controllers',
      'the Skiff periodic resync of every controller',
    ]);
    for (const fn of withNames) {
      assert.deepEqual((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.SERVICE_DISCOVERY_NAMESPACE_ID, {
        'Fn::GetAtt': [namespaceId, 'Id'],
      });
    }
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][]).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Array<{ Sid?: string; Action: string | string[]; Condition?: unknown }> }).Statement,
    );
    const keep = statements.filter((statement) => statement.Sid === 'KeepServiceNames');
    assert.equal(keep.length, 2);
    for (const statement of keep) {
      assert.deepEqual([statement.Action].flat().sort(), [
        'servicediscovery:DeleteService',
        'servicediscovery:DeregisterInstance',
        'servicediscovery:ListInstances',
        'servicediscovery:RegisterInstance',
      ]);
      assert.deepEqual(statement.Condition, { ArnEquals: { 'servicediscovery:NamespaceArn': { 'Fn::GetAtt': [namespaceId, 'Arn'] } } });
    }
  });

  it('lets the API servers, the controllers and the resync read the nodes’ figures from the channel table, by GetItem only', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    const channelTableId = Object.keys(tables).find((id) => id.startsWith('ChannelConnections'));
    assert.ok(channelTableId);
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    const roleOf = (fn: Resources[string]) => (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const readers = Object.values(functions).filter((fn) => {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      // The fan-out (which has CHANNEL_ENDPOINT) reads subscriptions, not figures.
      return JSON.stringify(variables.CHANNEL_TABLE ?? null).includes(channelTableId) && !variables.CHANNEL_ENDPOINT;
    });
    const descriptions = readers.map((fn) => String(fn.Properties.Description).split(' (')[0]).sort();
    assert.deepEqual(descriptions, [
      'the Skiff Kubernetes API server',
      'the Skiff Kubernetes API server for in-cluster clients',
      'the Skiff controllers',
      'the Skiff periodic resync of every controller',
      'the Skiff watch channel',
    ]);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    const onChannelTable = (fn: Resources[string]) =>
      policies
        .filter((policy) => (policy.Properties.Roles as { Ref?: string }[]).some((role) => role.Ref === roleOf(fn)))
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement)
        .filter((statement) => JSON.stringify(statement.Resource).includes(channelTableId))
        .flatMap((statement) => [statement.Action].flat())
        .sort();
    for (const fn of readers) {
      const description = String(fn.Properties.Description);
      if (description.startsWith('the Skiff watch channel')) {
        // It writes the figures (PutItem) with the connections' calls.
        assert.ok(onChannelTable(fn).includes('dynamodb:PutItem'), description);
      } else {
        assert.deepEqual(onChannelTable(fn), ['dynamodb:GetItem'], description);
      }
    }
  });

  it('runs the resync on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  /** Actions IAM cannot scope to a resource (the Service Authorization Reference lists no resource type for them). */
  const actionsWithoutResourceLevelPermissions = new Set([
    'dynamodb:ListStreams',
    'servicediscovery:ListServices',
    'ecr:GetAuthorizationToken',
    'ecs:DiscoverPollEndpoint',
    'ecs:RegisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'ecs:PutAccountSetting',
    // The load balancer controllers (cdk/load-balancing.ts): ELBv2's Describe calls, and the EC2
    // ones ELBv2 checks on the caller's behalf when it creates load balancers and target groups.
    'elasticloadbalancing:DescribeLoadBalancers',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeListenerCertificates',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:DescribeTargetGroupAttributes',
    'elasticloadbalancing:DescribeTargetHealth',
    'elasticloadbalancing:DescribeTags',
    'ec2:DescribeAccountAttributes',
    'ec2:DescribeAddresses',
    'ec2:DescribeInstances',
    'ec2:DescribeInternetGateways',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSubnets',
    'ec2:DescribeVpcs',
  ]);

  it('grants no wildcard in any action, and * resources only to actions that cannot be scoped', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    assert.ok(policies.length > 0);
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
      for (const statement of statements) {
        const actions = [statement.Action].flat();
        for (const action of actions) assert.doesNotMatch(action, /\*/, `no wildcard in ${action}`);
        if (statement.Resource === '*') {
          for (const action of actions) assert.ok(actionsWithoutResourceLevelPermissions.has(action), `${action} is on * but has resource-level permissions`);
        }
      }
    }
  });

  it('grants each function that uses the store exactly the calls the store makes', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    const storeTables = Object.keys(tables).filter((id) => id.startsWith('Store'));
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    const onStoreTables = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement.filter(
        (statement) => storeTables.some((id) => JSON.stringify(statement.Resource).includes(id)) && !JSON.stringify(statement.Resource).includes('StreamArn'),
      ).map((statement) => [statement.Action].flat().sort().join(',')),
    );
    assert.equal(
      onStoreTables.length,
      8,
      'API server (twice: REST API and function URL), controllers, scheduler, resync, bootstrap, watch channel, node heartbeat',
    );
    // tableActions is checked against the adapter's own calls (test/unit/store/table-actions.test.ts).
    const storeCalls = [...tableActions.read, ...tableActions.write].sort().join(',');
    assert.match(storeCalls, /dynamodb:UpdateItem/);
    for (const actions of onStoreTables) assert.equal(actions, storeCalls);
  });
});

/** The node group's instance role, by its logical id. */
function nodeInstanceRole(template: Template): string {
  const roles = Object.entries(template.findResources('AWS::IAM::Role') as Resources).filter(([, role]) =>
    JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'),
  );
  assert.equal(roles.length, 1, 'one instance role');
  return roles[0]?.[0] ?? '';
}

describe('cdk-nag in this app', () => {
  it('fails synthesis for an unacknowledged finding, so a clean synth means something', () => {
    const app = newApp();
    const stack = new Stack(app, 'Careless');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
