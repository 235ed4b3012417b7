import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NodeGroup, type NodeGroupProps } from '../../cdk/node-group.ts';
import { SkiffStack } from '../../cdk/skiff-stack.ts';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
type Resources = Record<string, { Properties: Record<string, unknown> }>;

const outdirs: string[] = [];
function newApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'skiff-cdk-nodes-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

function nodeGroupIn(app: App, props: Partial<NodeGroupProps> = {}): { stack: Stack; group: NodeGroup; template: Template } {
  const stack = new Stack(app, `Nodes${outdirs.length}`, { env: { account: '123456789012', region: 'eu-west-1' } });
  const group = new NodeGroup(stack, 'NodeGroup', { clusterName: 'skiff', apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/', ...props });
  return { stack, group, template: Template.fromStack(stack) };
}

/** The user data script, with CloudFormation functions rendered as ${...} placeholders. */
function userDataOf(template: Template): string {
  const launchTemplates = template.findResources('AWS::EC2::LaunchTemplate') as Resources;
  const [only] = Object.values(launchTemplates);
  assert.ok(only, 'one launch template');
  const data = (only.Properties.LaunchTemplateData as { UserData: { 'Fn::Base64': unknown } }).UserData['Fn::Base64'];
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      if ('Fn::Join' in object) {
        const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(separator);
      }
      return `\${${JSON.stringify(value)}}`;
    }
    return String(value);
  };
  return render(data);
}

function statementsOf(template: Template, roleLogicalIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe('NodeGroup', () => {
  let app: App;
  let template: Template;
  let group: NodeGroup;

  before(() => {
    app = newApp();
    ({ template, group } = nodeGroupIn(app));
  });

  after(() => {
    for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
  });

  it('synthesises with every cdk-nag AwsSolutions finding fixed or acknowledged with a reason', () => {
    assert.doesNotThrow(() => app.synth({ force: true }));
  });

  it('makes a VPC over two zones with no NAT gateway: nodes in public subnets', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: 0 })] }),
    });
    const [asg] = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup') as Resources);
    assert.ok(asg);
    assert.equal((asg.Properties.VPCZoneIdentifier as unknown[]).length, 2, 'nodes in both zones');
  });

  it('lets nothing in to the nodes but the NodePort range from the VPC, and into pods only from nodes and pods', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup') as Resources;
    const nodeGroup = Object.entries(groups).find(([, g]) => String(g.Properties.GroupDescription).startsWith('Skiff nodes'));
    assert.ok(nodeGroup);
    const ingress = (nodeGroup[1].Properties.SecurityGroupIngress ?? []) as { FromPort: number; ToPort: number; CidrIp: unknown }[];
    assert.equal(ingress.length, 1);
    assert.deepEqual([ingress[0]?.FromPort, ingress[0]?.ToPort], [30000, 32767]);
    assert.equal(ingress[0]?.CidrIp, '10.0.0.0/16', 'from the VPC only');
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    const podRules = template.findResources('AWS::EC2::SecurityGroupIngress') as Resources;
    assert.equal(Object.keys(podRules).length, 2, 'from the node group, and from the pod group itself');
    for (const rule of Object.values(podRules)) assert.ok(rule.Properties.SourceSecurityGroupId, 'pod rules name a security group, never a CIDR');
  });

  it('launches ECS-optimized Amazon Linux 2023 arm64 instances of the given type, IMDSv2 only, with metadata tags and an encrypted root', () => {
    template.hasParameter('*', { Default: '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id' });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c6g.large',
        MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3', DeleteOnTermination: true } }],
      }),
    });
  });

  it('runs an Auto Scaling group of 2 by default, and the sizes given', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', DesiredCapacity: '2', MaxSize: '2' });
    const other = nodeGroupIn(newApp(), { minSize: 1, desiredSize: 3, maxSize: 5, instanceType: new ec2.InstanceType('m7g.xlarge') });
    other.template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', DesiredCapacity: '3', MaxSize: '5' });
    other.template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'm7g.xlarge' }) });
    assert.equal(other.group.podsPerNode, 20);
  });

  it('drains a terminating node: a termination lifecycle hook the agent completes', () => {
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleHookName: 'skiff-drain',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      HeartbeatTimeout: 600,
      DefaultResult: 'CONTINUE',
    });
    const complete = statementsOf(template, 'InstanceRole').find((s) => s.Action === 'autoscaling:CompleteLifecycleAction');
    assert.ok(complete, 'the instance role may complete the lifecycle action');
    assert.match(JSON.stringify(complete.Resource), /:autoscaling:eu-west-1:123456789012:autoScalingGroup:\*/);
    assert.deepEqual(complete.Condition, { StringEquals: { 'autoscaling:ResourceTag/skiff.io/cluster': 'skiff' } });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      Tags: Match.arrayWith([{ Key: 'skiff.io/cluster', Value: 'skiff', PropagateAtLaunch: true }]),
    });
    const custom = nodeGroupIn(newApp(), { drainTimeout: Duration.minutes(20) });
    custom.template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { HeartbeatTimeout: 1200 });
  });

  it('starts the agent from user data as a systemd unit with --runtime ecs, the instance id as name and the private IP as address', () => {
    const script = userDataOf(template);
    assert.match(script, /ECS_CLUSTER=skiff\n/);
    assert.match(script, /ECS_AWSVPC_BLOCK_IMDS=true/);
    assert.match(script, /INSTANCE_ID=\$\(metadata instance-id\)/);
    assert.match(script, /PRIVATE_IP=\$\(metadata local-ipv4\)/);
    assert.match(script, /aws ecs put-account-setting --name awsvpcTrunking --value enabled/);
    const unit = /\[Service\][\s\S]*?ExecStart=([^\n]+)/.exec(script)?.[1] ?? '';
    assert.match(unit, /^\$NODE \/opt\/skiff\/skiff\.mjs agent --runtime ecs /);
    assert.match(unit, / --name \$INSTANCE_ID /);
    assert.match(unit, / --address \$PRIVATE_IP /);
    assert.match(unit, / --kubeconfig \/etc\/skiff\/kubeconfig /);
    assert.match(unit, / --lifecycle-hook skiff-drain /);
    assert.match(unit, / --keep-containers$/);
    assert.match(unit, / --secret-prefix skiff\/skiff /);
    assert.match(script, /systemctl enable --now skiff-agent\.service/);
    // IAM sign-in: the kubeconfig runs `skiff token` with the instance role (ADR 135).
    assert.match(script, /server: https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/cluster\//);
    assert.match(script, /args: \[\/opt\/skiff\/skiff\.mjs, token, --cluster-id, skiff, --region, \$REGION\]/);
  });

  it('bundles the agent (the skiff CLI) as one file asset the node copies and may read, and nothing else of the bucket', () => {
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${Stack.of(group).artifactId}.assets.json`), 'utf8')) as {
      files: Record<string, { displayName?: string; source: { path: string; packaging: string } }>;
    };
    const bundle = Object.values(manifest.files).find((file) => file.displayName?.endsWith('AgentBundle'));
    assert.equal(bundle?.source.packaging, 'file');
    const code = readFileSync(join(assembly.directory, bundle?.source.path ?? ''), 'utf8');
    assert.match(code, /skiff agent --kubeconfig FILE --name NAME/, 'the skiff CLI with the agent');
    // It runs on its own, with no node_modules: Node prints the agent's usage.
    const run = spawnSync(process.execPath, [join(assembly.directory, bundle?.source.path ?? ''), 'agent', '--help'], { cwd: tmpdir(), encoding: 'utf8' });
    assert.match(run.stderr, /--runtime process\|sim\|ecs/);
    assert.match(userDataOf(template), /aws s3 cp "s3:\/\/cdk-[a-z0-9]+-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.mjs" \/opt\/skiff\/skiff\.mjs/);
    const read = statementsOf(template, 'InstanceRole').find((s) => s.Action === 's3:GetObject');
    assert.match(JSON.stringify(read?.Resource), /\/[0-9a-f]{64}\.mjs"/, 'the bundle object only');
  });

  it('gives the instance role no * action and only what the ECS agent and the node agent use', () => {
    const statements = statementsOf(template, 'InstanceRole');
    const actions = statements.flatMap((s) => [s.Action].flat());
    for (const action of actions) assert.ok(!action.includes('*'), `no wildcard action: ${action}`);
    for (const needed of [
      'ecs:RegisterContainerInstance',
      'ecs:Poll',
      'ecs:SubmitTaskStateChange',
      'ecs:StartTask',
      'ecs:StopTask',
      'ecs:DescribeTasks',
      'ecs:ListTasks',
      'ecs:RegisterTaskDefinition',
      'iam:PassRole',
      'secretsmanager:PutSecretValue',
      'logs:PutLogEvents',
      'autoscaling:CompleteLifecycleAction',
    ]) {
      assert.ok(actions.includes(needed), `the instance role may ${needed}`);
    }
    const startTask = statements.find((s) => s.Action === 'ecs:StartTask');
    assert.ok(startTask);
    assert.deepEqual(Object.keys((startTask.Condition as { ArnEquals: object }).ArnEquals), ['ecs:cluster']);
    const passRole = statements.find((s) => s.Action === 'iam:PassRole');
    assert.deepEqual(passRole?.Condition, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const executionActions = statementsOf(template, 'TaskExecutionRole').flatMap((s) => [s.Action].flat());
    assert.ok(executionActions.includes('secretsmanager:GetSecretValue'));
    assert.ok(executionActions.every((action) => !action.includes('*')));
  });

  it('puts pods on private subnets behind NAT when asked', () => {
    const withNat = nodeGroupIn(newApp(), { natGateways: 1 });
    withNat.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    withNat.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })] }),
    });
  });

  it('refuses an instance type that is not arm64, and one whose pod count it cannot tell', () => {
    assert.throws(() => nodeGroupIn(newApp(), { instanceType: new ec2.InstanceType('c6i.large') }), /not arm64/);
    assert.throws(() => nodeGroupIn(newApp(), { instanceType: new ec2.InstanceType('x2gd.large') }), /give podsPerNode/);
    assert.equal(nodeGroupIn(newApp(), { instanceType: new ec2.InstanceType('x2gd.large'), podsPerNode: 12 }).group.podsPerNode, 12);
  });
});

describe('SkiffStack with its nodes', () => {
  it('gives the API the pod log group to read kubectl logs from, and the nodes the API URL; nodes: false leaves them out', () => {
    const app = newApp();
    const stack = new SkiffStack(app, 'Skiff', { env: { account: '123456789012', region: 'eu-west-1' } });
    const template = Template.fromStack(stack);
    assert.ok(stack.nodes);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'the Skiff Kubernetes API server',
      Environment: { Variables: Match.objectLike({ POD_LOG_GROUP: Match.anyValue() }) },
    });
    const apiPolicies = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('ApiServer'),
    );
    const apiActions = apiPolicies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement).flatMap((s) => [s.Action].flat());
    assert.ok(apiActions.includes('logs:GetLogEvents'));
    assert.match(
      userDataOf(template),
      /server: https:\/\/\$\{\{"Ref":"Api[0-9A-F]+"\}\}\.execute-api\.eu-west-1\.\$\{\{"Ref":"AWS::URLSuffix"\}\}\/\$\{\{"Ref":"ApiDeploymentStage\w+"\}\}\//,
    );
    template.hasOutput('NodeRoleArn', {});
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: 'Skiff' });

    const bare = Template.fromStack(new SkiffStack(newApp(), 'Bare', { nodes: false }));
    bare.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
    bare.resourceCountIs('AWS::ECS::Cluster', 0);
  });
});
