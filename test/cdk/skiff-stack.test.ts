import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkiffStack } from '../../cdk/skiff-stack.ts';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const outdirs: string[] = [];
function newApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'skiff-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
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
      StreamSpecification: Match.absent(),
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('keeps the tables when the stack is deleted', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables) as Array<{ DeletionPolicy?: string; Properties: { DeletionProtectionEnabled?: boolean } }>) {
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

  it('runs every function on Node.js 20, arm64, with a log group that has a retention', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][];
    assert.equal(functions.length, 4, 'API server, controllers, scheduler, resync');
    for (const fn of functions) {
      assert.equal(fn.Properties.Runtime, 'nodejs20.x');
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      assert.ok(fn.Properties.LoggingConfig, 'writes to its own log group');
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup')) as Resources[string][]) {
      assert.equal(typeof group.Properties.RetentionInDays, 'number');
    }
  });

  it('gives the API server its tables and the token secret, read through the extension layer', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ OBJECTS_TABLE: Match.anyValue(), CHANGES_TABLE: Match.anyValue(), TOKEN_SECRET_ARN: Match.anyValue() }) },
      Layers: [Match.anyValue()],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
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
    assert.equal(grants.length, 1, 'one function (the API server) may read it');
    assert.match(JSON.stringify(grants[0]?.Properties.PolicyDocument), /secretsmanager:GetSecretValue/);
    assert.doesNotMatch(JSON.stringify(grants[0]?.Properties.PolicyDocument), /secretsmanager:PutSecretValue/);
  });

  it('feeds the controllers and the scheduler from the objects stream with per-record failure reporting', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resources[string][];
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

  it('runs the resync on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  /** Actions IAM cannot scope to a resource (the Service Authorization Reference lists no resource type for them). */
  const actionsWithoutResourceLevelPermissions = new Set([
    'dynamodb:ListStreams',
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

  it('grants no wildcard actions, and * resources only to actions that cannot be scoped', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][];
    assert.ok(policies.length > 0);
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
      for (const statement of statements) {
        const actions = [statement.Action].flat();
        assert.ok(!actions.some((a) => a === '*' || a === 'dynamodb:*'), `no wildcard action in ${JSON.stringify(actions)}`);
        if (statement.Resource === '*') {
          for (const action of actions) assert.ok(actionsWithoutResourceLevelPermissions.has(action), `${action} is on * but has resource-level permissions`);
        }
      }
    }
  });
});

describe('cdk-nag in this app', () => {
  it('fails synthesis for an unacknowledged finding, so a clean synth means something', () => {
    const app = newApp();
    const stack = new Stack(app, 'Careless');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
