/**
 * The load balancing part of the stack (cdk/load-balancing.ts): the security group of the load
 * balancers, the controllers' environment, and ELBv2 permissions scoped to the cluster by tag
 * conditions and name prefix, with cdk-nag's checks passing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkiffStack } from '../../cdk/skiff-stack.ts';
import { clusterPrefix } from '../../functions/aws/elbv2-names.ts';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
type Resources = Record<string, { Properties: Record<string, unknown> }>;

describe('SkiffStack with load balancing', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'skiff-cdk-lb-'));
  let app: App;
  let template: Template;
  const env = { account: '123456789012', region: 'eu-west-1' };

  before(() => {
    app = new App({ outdir });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const network = new Stack(app, 'Network', { env });
    Validations.of(network).acknowledge({
      id: 'CloudFormation-Validate::F0001',
      reason: 'The test imports an existing VPC by its ids: this stack makes nothing.',
    });
    const vpc = ec2.Vpc.fromVpcAttributes(network, 'Vpc', {
      vpcId: 'vpc-0abc1234def567890',
      vpcCidrBlock: '10.0.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      publicSubnetIds: ['subnet-pub-a', 'subnet-pub-b'],
      privateSubnetIds: ['subnet-priv-a', 'subnet-priv-b'],
    });
    const stack = new SkiffStack(app, 'Skiff', { env, loadBalancing: { vpc } });
    template = Template.fromStack(stack);
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesises with every cdk-nag finding fixed or acknowledged', () => {
    assert.doesNotThrow(() => app.synth({ force: true }));
  });

  it('makes one security group for the load balancers, open to clients, reaching only the VPC', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Load balancers of the Skiff cluster Skiff (Services of type LoadBalancer, Ingresses)',
      VpcId: 'vpc-0abc1234def567890',
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 })]),
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '10.0.0.0/16', IpProtocol: 'tcp' })]),
    });
  });

  it('tells the controllers and the resync where load balancers go', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][];
    const withLb = functions.filter((fn) => (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.LB_VPC_ID);
    assert.equal(withLb.length, 2, 'the controllers and the resync');
    for (const fn of withLb) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(variables.CLUSTER_NAME, 'Skiff');
      assert.equal(variables.LB_VPC_ID, 'vpc-0abc1234def567890');
      assert.equal(variables.LB_PUBLIC_SUBNETS, 'subnet-pub-a,subnet-pub-b');
      assert.equal(variables.LB_PRIVATE_SUBNETS, 'subnet-priv-a,subnet-priv-b');
      assert.ok(variables.LB_SECURITY_GROUPS, 'the security group id');
    }
  });

  it('grants ELBv2 actions by name, never *, creating only with the cluster tag and changing only what carries it', () => {
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resources[string][]).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    const elb = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('elasticloadbalancing:')));
    assert.ok(elb.length > 0);
    for (const statement of elb) {
      for (const action of [statement.Action].flat()) assert.ok(!action.includes('*'), `no wildcard action: ${action}`);
      if (statement.Resource === '*')
        assert.ok(
          [statement.Action].flat().every((a) => a.startsWith('elasticloadbalancing:Describe')),
          JSON.stringify(statement),
        );
    }
    const network = statements.find((s) => [s.Action].flat().includes('ec2:DescribeSubnets'));
    assert.deepEqual(
      [network?.Action].flat().sort(),
      [
        'ec2:DescribeAccountAttributes',
        'ec2:DescribeAddresses',
        'ec2:DescribeInstances',
        'ec2:DescribeInternetGateways',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcs',
      ],
      'what ELBv2 checks on the caller when it creates load balancers and target groups and registers targets',
    );
    const create = elb.find((s) => [s.Action].flat().includes('elasticloadbalancing:CreateLoadBalancer'));
    assert.deepEqual(create?.Condition, { StringEquals: { 'aws:RequestTag/skiff.io/cluster': 'Skiff' } });
    const remove = elb.find((s) => [s.Action].flat().includes('elasticloadbalancing:DeleteLoadBalancer'));
    assert.deepEqual(remove?.Condition, { StringEquals: { 'aws:ResourceTag/skiff.io/cluster': 'Skiff' } });
    const tagging = elb.find((s) => [s.Action].flat().includes('elasticloadbalancing:AddTags'));
    assert.ok(tagging?.Condition?.StringEquals?.['elasticloadbalancing:CreateAction'], 'tags only as part of a create');
    const listeners = elb.find((s) => [s.Action].flat().includes('elasticloadbalancing:CreateListener'));
    const resources = JSON.stringify(listeners?.Resource);
    assert.ok(resources.includes(`loadbalancer/app/${clusterPrefix('Skiff')}-*`), resources);
    assert.ok(!resources.includes('"*"'));
  });

  it('gives no ELBv2 permission to the API server or the scheduler', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')) as [string, Resources[string]][];
    for (const [id, policy] of policies) {
      if (!/ApiServer|Scheduler/.test(id)) continue;
      const text = JSON.stringify(policy.Properties.PolicyDocument);
      assert.ok(!text.includes('elasticloadbalancing'), id);
    }
  });
});

describe('SkiffStack with its node group: load balancing by default', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'skiff-cdk-lb-nodes-'));
  let template: Template;

  before(() => {
    const app = new App({ outdir });
    template = Template.fromStack(new SkiffStack(app, 'Skiff', { env: { account: '123456789012', region: 'eu-west-1' } }));
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it("puts load balancers in the node group's VPC and lets them into the pods' security group", () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const id = (pattern: RegExp) => {
      const found = Object.keys(groups).filter((key) => pattern.test(key));
      assert.equal(found.length, 1, `${pattern}: ${Object.keys(groups).join(', ')}`);
      return found[0] as string;
    };
    const loadBalancers = id(/^LoadBalancing/);
    const pods = id(/^NodesPodSecurityGroup/);
    const vpc = Object.keys(template.findResources('AWS::EC2::VPC'));
    assert.equal(vpc.length, 1);
    assert.deepEqual((groups[loadBalancers] as Resources[string]).Properties.VpcId, { Ref: vpc[0] });
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as Resources[string][];
    assert.ok(
      ingress.some(
        (rule) =>
          JSON.stringify(rule.Properties.GroupId).includes(pods) &&
          JSON.stringify(rule.Properties.SourceSecurityGroupId).includes(loadBalancers) &&
          rule.Properties.IpProtocol === 'tcp',
      ),
      'the pods let the load balancers in',
    );
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][];
    const variables = functions
      .map((fn) => (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables)
      .filter((v): v is Record<string, unknown> => v?.LB_VPC_ID !== undefined);
    assert.equal(variables.length, 2, 'the controllers and the resync');
    for (const v of variables) {
      assert.deepEqual(v.LB_VPC_ID, { Ref: vpc[0] });
      // The node group's VPC without NAT has public subnets only: internal load balancers go there too.
      const subnets = Object.keys(template.findResources('AWS::EC2::Subnet'));
      assert.equal(subnets.length, 2, 'two zones');
      const expected = { 'Fn::Join': ['', [{ Ref: subnets[0] }, ',', { Ref: subnets[1] }]] };
      assert.deepEqual(v.LB_PUBLIC_SUBNETS, expected);
      assert.deepEqual(v.LB_PRIVATE_SUBNETS, expected);
    }
  });
});
