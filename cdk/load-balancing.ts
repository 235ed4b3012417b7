import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { clusterPrefix, clusterTag } from '../functions/aws/elbv2-names.ts';

export interface LoadBalancingProps {
  /** The cluster's VPC: load balancers go in its public (internet-facing) and private (internal) subnets. */
  readonly vpc: ec2.IVpc;
  /** Names the cluster in every ELBv2 resource's name prefix and `skiff.io/cluster` tag; a plain string (not a token). */
  readonly clusterName: string;
  /**
   * The security group of the pods (ECS tasks); load balancers are let in to them.
   * @default - none: the pods' own group must let the load balancer group in
   */
  readonly podSecurityGroup?: ec2.ISecurityGroup;
}

/**
 * What the `alb` load balancer providers need from the AWS account (docs/adr/096-alb-provider.md):
 * a security group every Application and Network Load Balancer of the cluster gets (clients in
 * on any port a Service or Ingress listens on; the pods let it through), the environment that
 * tells the controllers where to put load balancers, and ELBv2 permissions scoped to this cluster:
 * creates only with the `skiff.io/cluster` tag of this cluster, changes and deletes only of
 * resources carrying it, listener and rule calls only under load balancers named with this
 * cluster's prefix. No `*` action, and `*` resources only for the Describe calls, which have no
 * resource-level permissions.
 */
export class LoadBalancing extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly clusterName: string;
  private readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: LoadBalancingProps) {
    super(scope, id);
    if (Token.isUnresolved(props.clusterName)) throw new Error('LoadBalancing: clusterName must be a plain string, it names resources at synth time');
    this.clusterName = props.clusterName;
    this.vpc = props.vpc;
    this.securityGroup = new ec2.SecurityGroup(this, 'LoadBalancers', {
      vpc: props.vpc,
      description: `Load balancers of the Skiff cluster ${props.clusterName} (Services of type LoadBalancer, Ingresses)`,
      allowAllOutbound: false,
    });
    // Listeners are the ports Services and Ingresses declare: any port, TCP and UDP.
    this.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.allTcp(), 'Clients of Services and Ingresses (listeners are the ports they declare)');
    this.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.allUdp(), 'Clients of UDP Services on Network Load Balancers');
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.allTcp(), 'Targets (pod addresses) and their health checks');
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.allUdp(), 'UDP targets');
    for (const id of ['AwsSolutions-EC23', 'CloudFormation-Validate::W2508']) {
      Validations.of(this.securityGroup).acknowledge({
        id,
        reason:
          'A load balancer serves whoever its Service or Ingress is for, on the ports they declare (only those have listeners); internal ones sit in private subnets.',
      });
    }
    if (props.podSecurityGroup) {
      props.podSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.allTcp(), 'Traffic and health checks from the cluster load balancers');
      props.podSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.allUdp(), 'UDP traffic from the cluster Network Load Balancers');
    }
  }

  /** What the controller Lambdas read to build the providers (`functions/aws/load-balancing-environment.ts`). */
  environment(): Record<string, string> {
    const ids = (subnets: ec2.ISubnet[]) => subnets.map((s) => s.subnetId).join(',');
    const select = (type: ec2.SubnetType) => {
      try {
        return this.vpc.selectSubnets({ subnetType: type, onePerAz: true }).subnets;
      } catch {
        return [];
      }
    };
    const publicSubnets = select(ec2.SubnetType.PUBLIC);
    const privateSubnets = [...select(ec2.SubnetType.PRIVATE_WITH_EGRESS), ...select(ec2.SubnetType.PRIVATE_ISOLATED)];
    return {
      CLUSTER_NAME: this.clusterName,
      LB_VPC_ID: this.vpc.vpcId,
      LB_PUBLIC_SUBNETS: ids(publicSubnets),
      // An internal load balancer has only private addresses wherever it sits: a VPC without private
      // subnets (the node group's without NAT) puts it in the public ones.
      LB_PRIVATE_SUBNETS: ids(privateSubnets.length > 0 ? privateSubnets : publicSubnets),
      LB_SECURITY_GROUPS: this.securityGroup.securityGroupId,
    };
  }

  /** The ELBv2 calls the load balancer and ingress controllers make, on this cluster's resources only. */
  grantControllers(role: iam.IRole & Construct): void {
    const stack = Stack.of(this);
    const prefix = clusterPrefix(this.clusterName);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'elasticloadbalancing', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const loadBalancers = [arn('loadbalancer', `app/${prefix}-*`), arn('loadbalancer', `net/${prefix}-*`)];
    const targetGroups = [arn('targetgroup', `${prefix}-*`)];
    const listeners = [arn('listener', `app/${prefix}-*`), arn('listener', `net/${prefix}-*`)];
    const rules = [arn('listener-rule', `app/${prefix}-*`)];
    const ofThisCluster = { StringEquals: { [`aws:ResourceTag/${clusterTag}`]: this.clusterName } };
    const statements = [
      new iam.PolicyStatement({
        sid: 'DescribeLoadBalancing',
        actions: [
          'elasticloadbalancing:DescribeLoadBalancers',
          'elasticloadbalancing:DescribeListeners',
          'elasticloadbalancing:DescribeListenerCertificates',
          'elasticloadbalancing:DescribeRules',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTags',
        ],
        resources: ['*'],
      }),
      // What ELBv2 itself checks on the caller's behalf (Elastic Load Balancing API permissions:
      // CreateLoadBalancer, CreateTargetGroup, RegisterTargets); EC2's Describe calls cannot be scoped.
      new iam.PolicyStatement({
        sid: 'DescribeNetworkForLoadBalancing',
        actions: [
          'ec2:DescribeAccountAttributes',
          'ec2:DescribeAddresses',
          'ec2:DescribeInstances',
          'ec2:DescribeInternetGateways',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CreateTaggedForThisCluster',
        actions: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup'],
        resources: [...loadBalancers, ...targetGroups],
        conditions: { StringEquals: { [`aws:RequestTag/${clusterTag}`]: this.clusterName } },
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreateOnly',
        actions: ['elasticloadbalancing:AddTags'],
        resources: [...loadBalancers, ...targetGroups, ...listeners, ...rules],
        conditions: {
          StringEquals: { 'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'CreateRule'] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ChangeThisClustersLoadBalancersAndTargetGroups',
        actions: [
          'elasticloadbalancing:DeleteLoadBalancer',
          'elasticloadbalancing:ModifyTargetGroup',
          'elasticloadbalancing:ModifyTargetGroupAttributes',
          'elasticloadbalancing:DeleteTargetGroup',
          'elasticloadbalancing:RegisterTargets',
          'elasticloadbalancing:DeregisterTargets',
        ],
        resources: [...loadBalancers, ...targetGroups],
        conditions: ofThisCluster,
      }),
      new iam.PolicyStatement({
        sid: 'ListenersOfThisClustersLoadBalancers',
        actions: [
          'elasticloadbalancing:CreateListener',
          'elasticloadbalancing:ModifyListener',
          'elasticloadbalancing:DeleteListener',
          'elasticloadbalancing:AddListenerCertificates',
          'elasticloadbalancing:RemoveListenerCertificates',
          'elasticloadbalancing:CreateRule',
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:DeleteRule',
        ],
        resources: [...loadBalancers, ...listeners, ...rules, ...targetGroups],
      }),
      new iam.PolicyStatement({
        sid: 'LoadBalancingServiceLinkedRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          stack.formatArn({
            service: 'iam',
            region: '',
            resource: 'role',
            resourceName: 'aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing',
          }),
        ],
        conditions: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
      }),
    ];
    for (const statement of statements) role.addToPrincipalPolicy(statement);
    // cdk-nag names each wildcard resource; every one of them is explained here.
    const shown = (value: string, token: string) => (Token.isUnresolved(value) ? token : value);
    const region = shown(stack.region, '<AWS::Region>');
    const account = shown(stack.account, '<AWS::AccountId>');
    const patterns = [
      `loadbalancer/app/${prefix}-*`,
      `loadbalancer/net/${prefix}-*`,
      `targetgroup/${prefix}-*`,
      `listener/app/${prefix}-*`,
      `listener/net/${prefix}-*`,
      `listener-rule/app/${prefix}-*`,
    ];
    for (const pattern of patterns) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:${region}:${account}:${pattern}]`,
        reason: `ELBv2 names are generated per Service and Ingress; the ${prefix}- prefix is this cluster's, and creates and changes also need its skiff.io/cluster tag (ADR 096).`,
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: "ELBv2's and EC2's Describe calls (and DynamoDB's ListStreams) have no resource-level permissions; they are the only actions on *.",
    });
  }
}
