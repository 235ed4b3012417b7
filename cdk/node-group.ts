import * as path from 'node:path';
import { ArnFormat, AssetHashType, BundlingOutput, DockerImage, Duration, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { podsPerInstance, supportsTrunking } from '../node-agent/index.ts';
import { projectRoot } from './skiff-function.ts';

export interface NodeGroupProps {
  /** The cluster's name: the ECS cluster, the task definition families, the Secrets Manager prefix, the IAM sign-in cluster id. */
  readonly clusterName: string;
  /** The Kubernetes API the agents talk to (the stage URL of the REST API). */
  readonly apiUrl: string;
  /**
   * The API without a base path (the stack's function URL, docs/adr/147), written into the
   * nodes' kubeconfig (`skiff.io/in-cluster-server`); the agents give it to pods as
   * KUBERNETES_SERVICE_HOST/_PORT.
   */
  readonly inClusterApiUrl?: string;
  /**
   * The watch channel the agents take their pods, Services and Endpoints from and renew their
   * Leases over (the WebSocket stage URL, docs/adr/073, 074), written into their kubeconfig.
   * @default - none: agents hold REST watches
   */
  readonly watchChannelUrl?: string;
  /**
   * The node heartbeat endpoint (the function URL with AWS_IAM auth, docs/adr/196) the agents
   * renew their Leases and write their Node status through, signing with the instance role;
   * written into their kubeconfig (`skiff.io/heartbeat`). The stack grants the role its invoke.
   * @default - none: over the watch channel, or the API
   */
  readonly heartbeatUrl?: string;
  /**
   * Graviton (arm64) instance type of the nodes.
   * @default c6g.large (2 vCPU, 4 GiB; 10 pods with ENI trunking)
   */
  readonly instanceType?: ec2.InstanceType;
  /** @default 2 */
  readonly minSize?: number;
  /** @default 2 */
  readonly desiredSize?: number;
  /** @default 2 */
  readonly maxSize?: number;
  /**
   * NAT gateways, for pods that must reach the internet (about $32 a month each, plus data).
   * With none, nodes sit in public subnets with public addresses and no inbound rule but the
   * NodePort range from the VPC; pods get VPC addresses only (ADR 132).
   * @default 0
   */
  readonly natGateways?: number;
  /**
   * Turn on ENI trunking (the `awsvpcTrunking` account setting for the node role), so a node holds
   * more pods than it has network interfaces, on the instance types that support it.
   * @default true
   */
  readonly eniTrunking?: boolean;
  /**
   * Pods per node, for an instance type the agent's table does not know.
   * @default from the instance type (and trunking)
   */
  readonly podsPerNode?: number;
  /** @default 30 */
  readonly rootVolumeGiB?: number;
  /** How long a terminating node may take to drain before the group terminates it anyway. @default Duration.minutes(10) */
  readonly drainTimeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly podLogRetention?: logs.RetentionDays;
  /** VPC flow logs to CloudWatch Logs (billed per GB). @default false */
  readonly flowLogs?: boolean;
  /** @default '10.0.0.0/16' */
  readonly vpcCidr?: string;
}

/** The lifecycle hook a terminating node's agent completes after draining (ADR 133). */
export const drainHookName = 'skiff-drain';

/**
 * Skiff's nodes: a VPC, an ECS cluster, and an Auto Scaling group of ECS-optimized Amazon Linux
 * 2023 arm64 instances, each running the node agent (an esbuild bundle of the `skiff` CLI,
 * shipped as an asset) as a systemd unit with `--runtime ecs`: the instance id is the Node's
 * name, its private address the InternalIP, and it signs in to the API with its instance role.
 * Pods are ECS tasks in `awsvpc` mode in the pod security group; their output goes to the pod
 * log group. A node leaving the group drains first (a termination lifecycle hook). ADR 132.
 */
export class NodeGroup extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly instanceRole: iam.Role;
  /** The role ECS uses to start pods: it reads their Secrets and ConfigMaps (ADR 131). */
  readonly taskExecutionRole: iam.Role;
  readonly nodeSecurityGroup: ec2.SecurityGroup;
  /** The pods' network interfaces: load balancers that target pod IPs add their rules here. */
  readonly podSecurityGroup: ec2.SecurityGroup;
  readonly podLogGroup: logs.LogGroup;
  readonly podsPerNode: number;
  readonly instanceType: ec2.InstanceType;

  constructor(scope: Construct, id: string, props: NodeGroupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.C6G, ec2.InstanceSize.LARGE);
    const typeName = this.instanceType.toString();
    if (this.instanceType.architecture !== ec2.InstanceArchitecture.ARM_64) {
      throw new Error(`node instance type ${typeName} is not arm64: the nodes run the ECS-optimized Amazon Linux 2023 arm64 AMI`);
    }
    const trunking = (props.eniTrunking ?? true) && supportsTrunking(typeName);
    const pods = props.podsPerNode ?? podsPerInstance(typeName, trunking);
    if (pods === undefined) throw new Error(`pods per node are not known for ${typeName}: give podsPerNode`);
    // The agent counts them itself from the instance type and the trunking ECS really gave it;
    // the construct says how many to expect, and passes its own only when told to.
    this.podsPerNode = pods;
    const natGateways = props.natGateways ?? 0;
    const secretPrefix = `skiff/${props.clusterName}`;
    /** A wildcard resource as cdk-nag names it in a finding (region and account literal when the stack has them). */
    const nagArn = (rest: string) =>
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:${rest.replace('{region}', nagValue(stack.region, 'AWS::Region')).replace('{account}', nagValue(stack.account, 'AWS::AccountId'))}]`;

    const vpcCidr = props.vpcCidr ?? '10.0.0.0/16';
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(vpcCidr),
      maxAzs: 2,
      natGateways,
      subnetConfiguration:
        natGateways > 0
          ? [
              { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
              { name: 'Pods', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
            ]
          : [{ name: 'Nodes', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
      ...(props.flowLogs ? { flowLogs: { Flows: { destination: ec2.FlowLogDestination.toCloudWatchLogs() } } } : {}),
    });
    if (!props.flowLogs) {
      acknowledge(this.vpc, 'AwsSolutions-VPC7', 'Flow logs are billed per GB; a cluster turns them on with flowLogs: true (ADR 132).');
    }
    const podSubnets = natGateways > 0 ? this.vpc.privateSubnets : this.vpc.publicSubnets;

    this.nodeSecurityGroup = new ec2.SecurityGroup(this, 'NodeSecurityGroup', {
      vpc: this.vpc,
      description: 'Skiff nodes: NodePorts from inside the VPC (load balancers), nothing else inbound',
      allowAllOutbound: true,
    });
    this.nodeSecurityGroup.addIngressRule(ec2.Peer.ipv4(vpcCidr), ec2.Port.tcpRange(30000, 32767), 'Service NodePorts, from load balancers in the VPC');
    this.podSecurityGroup = new ec2.SecurityGroup(this, 'PodSecurityGroup', {
      vpc: this.vpc,
      description: 'Skiff pods (ECS task network interfaces): from their nodes and from other pods',
      allowAllOutbound: true,
    });
    this.podSecurityGroup.addIngressRule(this.nodeSecurityGroup, ec2.Port.allTcp(), 'Probes and NodePort forwarding from the nodes');
    this.podSecurityGroup.addIngressRule(this.podSecurityGroup, ec2.Port.allTraffic(), 'Pod to pod');

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, clusterName: props.clusterName });
    acknowledge(this.cluster, 'AwsSolutions-ECS4', 'Container Insights bills per metric and task; pod metrics are left to the operator to turn on.');

    this.podLogGroup = new logs.LogGroup(this, 'PodLogs', {
      logGroupName: `/skiff/${props.clusterName}/pods`,
      retention: props.podLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskExecutionRole = new iam.Role(this, 'TaskExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Starts the pods of Skiff cluster ${props.clusterName}: reads their Secrets and ConfigMaps and private ECR images`,
    });
    const secretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.taskExecutionRole.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsArn] }));
    addImagePulls(this.taskExecutionRole, stack, nagArn);
    acknowledge(
      this.taskExecutionRole,
      nagArn(`secretsmanager:{region}:{account}:secret:${secretPrefix}/*`),
      "The cluster's Secrets and ConfigMaps are stored one secret each under the cluster's prefix, made as pods start (ADR 131).",
    );

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Skiff node of cluster ${props.clusterName}: the ECS agent and the Skiff node agent`,
    });
    const clusterArn = this.cluster.clusterArn;
    const containerInstances = stack.formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${props.clusterName}/*` });
    const tasks = stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.clusterName}/*` });
    const taskDefinitions = stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${props.clusterName}-*:*` });
    const onCluster = { ArnEquals: { 'ecs:cluster': clusterArn } };
    const statements = [
      // The ECS container agent (what AmazonEC2ContainerServiceforEC2Role grants, with no wildcard action).
      new iam.PolicyStatement({
        sid: 'EcsAgentCluster',
        actions: [
          'ecs:RegisterContainerInstance',
          'ecs:DeregisterContainerInstance',
          'ecs:SubmitContainerStateChange',
          'ecs:SubmitTaskStateChange',
          'ecs:SubmitAttachmentStateChanges',
        ],
        resources: [clusterArn],
      }),
      new iam.PolicyStatement({
        sid: 'EcsAgentInstance',
        actions: ['ecs:Poll', 'ecs:StartTelemetrySession', 'ecs:UpdateContainerInstancesState', 'ecs:PutAttributes'],
        resources: [containerInstances],
      }),
      new iam.PolicyStatement({ sid: 'EcsAgentDiscovery', actions: ['ecs:DiscoverPollEndpoint'], resources: ['*'] }),
      // The Skiff node agent: task definitions from pods, tasks on its own container instance (ADR 130).
      new iam.PolicyStatement({ sid: 'TaskDefinitions', actions: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'], resources: ['*'] }),
      new iam.PolicyStatement({ sid: 'StartTasks', actions: ['ecs:StartTask'], resources: [taskDefinitions], conditions: onCluster }),
      new iam.PolicyStatement({ sid: 'Tasks', actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [tasks], conditions: onCluster }),
      new iam.PolicyStatement({
        sid: 'ContainerInstances',
        actions: ['ecs:ListTasks', 'ecs:DescribeContainerInstances'],
        resources: [containerInstances, clusterArn],
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['ecs:TagResource'],
        resources: [tasks, taskDefinitions, containerInstances],
        conditions: { StringEquals: { 'ecs:CreateAction': ['StartTask', 'RegisterTaskDefinition', 'RegisterContainerInstance'] } },
      }),
      new iam.PolicyStatement({
        sid: 'PassTaskRoles',
        actions: ['iam:PassRole'],
        resources: [this.taskExecutionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
      // Pods' Secrets and ConfigMaps, by reference (ADR 131).
      new iam.PolicyStatement({
        sid: 'PodSecrets',
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
        resources: [secretsArn],
      }),
    ];
    if (trunking) statements.push(new iam.PolicyStatement({ sid: 'EniTrunking', actions: ['ecs:PutAccountSetting'], resources: ['*'] }));
    for (const statement of statements) this.instanceRole.addToPolicy(statement);
    addImagePulls(this.instanceRole, stack, nagArn);
    this.podLogGroup.grantWrite(this.instanceRole);
    acknowledge(
      this.instanceRole,
      'AwsSolutions-IAM5[Resource::*]',
      'ecs:DiscoverPollEndpoint, ecs:RegisterTaskDefinition, ecs:DescribeTaskDefinition, ecs:PutAccountSetting and ecr:GetAuthorizationToken have no resource-level permissions.',
    );
    acknowledge(
      this.instanceRole,
      nagArn(`ecs:{region}:{account}:container-instance/${props.clusterName}/*`),
      "Container instances register as the group scales; the statement is limited to the cluster's.",
    );
    acknowledge(
      this.instanceRole,
      nagArn(`ecs:{region}:{account}:task/${props.clusterName}/*`),
      "Pods' tasks are made as pods start; only tasks of the cluster, with a condition on the cluster.",
    );
    acknowledge(
      this.instanceRole,
      nagArn(`ecs:{region}:{account}:task-definition/${props.clusterName}-*:*`),
      "Task definitions are derived from pods (a family per pod template, ADR 130), all prefixed with the cluster's name.",
    );
    acknowledge(
      this.instanceRole,
      nagArn(`secretsmanager:{region}:{account}:secret:${secretPrefix}/*`),
      "The cluster's Secrets and ConfigMaps are stored one secret each under the cluster's prefix (ADR 131).",
    );

    const agent = new s3assets.Asset(this, 'AgentBundle', {
      path: path.join(projectRoot, 'node-agent'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Bundled by the local esbuild, never in Docker.
        image: DockerImage.fromRegistry('scratch'),
        local: { tryBundle: (outputDir) => bundleAgent(outputDir) },
        // One file, uploaded as is: the node copies it to /opt/skiff/skiff.mjs.
        outputType: BundlingOutput.SINGLE_FILE,
      },
    });
    // The one object of the bundle, not the asset bucket.
    this.instanceRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AgentBundle',
        actions: ['s3:GetObject'],
        resources: [stack.formatArn({ service: 's3', region: '', account: '', resource: agent.s3BucketName, resourceName: agent.s3ObjectKey })],
      }),
    );

    const podSubnetIds = podSubnets.map((subnet) => subnet.subnetId);
    const userData = nodeUserData({
      clusterName: props.clusterName,
      apiUrl: props.apiUrl,
      ...(props.inClusterApiUrl ? { inClusterApiUrl: props.inClusterApiUrl } : {}),
      ...(props.watchChannelUrl ? { watchChannelUrl: props.watchChannelUrl } : {}),
      ...(props.heartbeatUrl ? { heartbeatUrl: props.heartbeatUrl } : {}),
      bundleUrl: agent.s3ObjectUrl,
      ...(props.podsPerNode !== undefined ? { pods: props.podsPerNode } : {}),
      trunking,
      podLogGroup: this.podLogGroup.logGroupName,
      taskExecutionRoleArn: this.taskExecutionRole.roleArn,
      podSecurityGroupId: this.podSecurityGroup.securityGroupId,
      podSubnets: podSubnets.map((subnet, index) => ({ availabilityZone: subnet.availabilityZone, subnetId: podSubnetIds[index] ?? '' })),
      secretPrefix,
    });

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.ARM),
      instanceType: this.instanceType,
      role: this.instanceRole,
      securityGroup: this.nodeSecurityGroup,
      userData,
      requireImdsv2: true,
      // The agent reads its group name and the target lifecycle state there (ADR 133).
      instanceMetadataTags: true,
      associatePublicIpAddress: natGateways === 0,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 30, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true, deleteOnTermination: true }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: this.vpc,
      vpcSubnets: natGateways > 0 ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: props.minSize ?? 2,
      desiredCapacity: props.desiredSize ?? 2,
      maxCapacity: props.maxSize ?? 2,
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: Math.max(0, (props.minSize ?? 2) - 1) }),
    });
    Tags.of(this.autoScalingGroup).add('skiff.io/cluster', props.clusterName);
    this.autoScalingGroup.addLifecycleHook('Drain', {
      lifecycleHookName: drainHookName,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: props.drainTimeout ?? Duration.minutes(10),
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });
    // The group's ARN would make the role's policy depend on the group, which depends on the
    // policy through its launch template: the group is named by its cluster tag instead.
    this.instanceRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CompleteDrain',
        actions: ['autoscaling:CompleteLifecycleAction'],
        resources: [stack.formatArn({ service: 'autoscaling', resource: 'autoScalingGroup', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        conditions: { StringEquals: { 'autoscaling:ResourceTag/skiff.io/cluster': props.clusterName } },
      }),
    );
    acknowledge(
      this.instanceRole,
      nagArn('autoscaling:{region}:{account}:autoScalingGroup:*'),
      "Completing a lifecycle action is allowed only on groups tagged with this cluster's name (ADR 133).",
    );
    acknowledge(
      this.autoScalingGroup,
      'AwsSolutions-AS3',
      'Scaling events are handled by the nodes themselves (the drain lifecycle hook, ADR 133); notifications are the operator’s choice.',
    );
    acknowledge(this.autoScalingGroup, 'AwsSolutions-EC26', 'The root volume is encrypted (gp3, encrypted: true in the launch template).');
  }
}

/** The agent and `skiff token` as one ESM file (`skiff.mjs`): the `skiff` CLI bundled for Node 20. */
function bundleAgent(outputDir: string): boolean {
  buildSync({
    entryPoints: [path.join(projectRoot, 'bin', 'cli.ts')],
    outfile: path.join(outputDir, 'skiff.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: "import { createRequire as skiffCreateRequire } from 'node:module'; const require = skiffCreateRequire(import.meta.url);" },
  });
  return true;
}

/** How cdk-nag writes a value in a finding: literal when known at synth, `<AWS::Region>` when a token. */
function nagValue(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

function addImagePulls(role: iam.Role, stack: Stack, nagArn: (rest: string) => string): void {
  role.addToPolicy(new iam.PolicyStatement({ sid: 'EcrToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'EcrPull',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      resources: [stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })],
    }),
  );
  acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken has no resource-level permission.');
  acknowledge(
    role,
    nagArn('ecr:{region}:{account}:repository/*'),
    'Pods may run any image of the account’s private ECR repositories, as a node of any Kubernetes cluster may.',
  );
}

export interface NodeUserDataSettings {
  readonly clusterName: string;
  readonly apiUrl: string;
  /** The API without a base path (its function URL), given to pods as KUBERNETES_SERVICE_HOST/_PORT (docs/adr/147). */
  readonly inClusterApiUrl?: string;
  readonly watchChannelUrl?: string;
  /** The node heartbeat endpoint (a function URL with AWS_IAM auth, docs/adr/196). */
  readonly heartbeatUrl?: string;
  readonly bundleUrl: string;
  /** @default - the agent counts them from the instance type */
  readonly pods?: number;
  readonly trunking: boolean;
  readonly podLogGroup: string;
  readonly taskExecutionRoleArn: string;
  readonly podSecurityGroupId: string;
  readonly podSubnets: readonly { readonly availabilityZone: string; readonly subnetId: string }[];
  readonly secretPrefix: string;
}

/**
 * The node's boot script: ECS agent settings, the instance's facts from the metadata service,
 * ENI trunking, Node.js and the agent bundle, the kubeconfig that signs in with the instance
 * role (`skiff token`, ADR 135), and the agent as a systemd unit.
 */
export function nodeUserData(settings: NodeUserDataSettings): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  const subnetCases = settings.podSubnets.map((subnet) => `  ${subnet.availabilityZone}) POD_SUBNET=${subnet.subnetId} ;;`);
  userData.addCommands(
    'set -euo pipefail',
    // The ECS agent starts after this script: its cluster, and no instance metadata for tasks.
    'cat >> /etc/ecs/ecs.config <<EOF',
    `ECS_CLUSTER=${settings.clusterName}`,
    'ECS_AWSVPC_BLOCK_IMDS=true',
    'ECS_ENABLE_CONTAINER_METADATA=true',
    'EOF',
    "IMDS_TOKEN=$(curl -sSf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 600')",
    'metadata() { curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/meta-data/$1"; }',
    'INSTANCE_ID=$(metadata instance-id)',
    'PRIVATE_IP=$(metadata local-ipv4)',
    'MAC=$(metadata mac)',
    'SUBNET_CIDR=$(metadata "network/interfaces/macs/$MAC/subnet-ipv4-cidr-block")',
    'REGION=$(metadata placement/region)',
    'ZONE=$(metadata placement/availability-zone)',
    'case "$ZONE" in',
    ...subnetCases,
    '  *) POD_SUBNET=$(metadata "network/interfaces/macs/$MAC/subnet-id") ;;',
    'esac',
    ...(settings.trunking ? ['aws ecs put-account-setting --name awsvpcTrunking --value enabled --region "$REGION" >/dev/null'] : []),
    'dnf install -y nodejs20 >/dev/null',
    'NODE=$(command -v node-20 || command -v node)',
    'install -d -m 0755 /opt/skiff',
    'install -d -m 0700 /etc/skiff /var/lib/skiff',
    `aws s3 cp "${settings.bundleUrl}" /opt/skiff/skiff.mjs --region "$REGION" >/dev/null`,
    'cat > /etc/skiff/kubeconfig <<EOF',
    'apiVersion: v1',
    'kind: Config',
    'current-context: skiff',
    'clusters:',
    `- name: ${settings.clusterName}`,
    '  cluster:',
    `    server: ${settings.apiUrl}`,
    ...(settings.watchChannelUrl || settings.inClusterApiUrl || settings.heartbeatUrl ? ['    extensions:'] : []),
    ...(settings.watchChannelUrl ? ['    - name: skiff.io/watch-channel', '      extension:', `        url: ${settings.watchChannelUrl}`] : []),
    ...(settings.inClusterApiUrl ? ['    - name: skiff.io/in-cluster-server', '      extension:', `        url: ${settings.inClusterApiUrl}`] : []),
    // Signed with the instance role's credentials (SigV4, service lambda) in the node's region.
    ...(settings.heartbeatUrl
      ? ['    - name: skiff.io/heartbeat', '      extension:', `        url: ${settings.heartbeatUrl}`, '        auth: aws-iam', '        region: $REGION']
      : []),
    'users:',
    '- name: node',
    '  user:',
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    '      command: $NODE',
    `      args: [/opt/skiff/skiff.mjs, token, --cluster-id, ${settings.clusterName}, --region, $REGION]`,
    '      interactiveMode: Never',
    'contexts:',
    '- name: skiff',
    '  context:',
    `    cluster: ${settings.clusterName}`,
    '    user: node',
    'EOF',
    'cat > /etc/systemd/system/skiff-agent.service <<EOF',
    '[Unit]',
    'Description=Skiff node agent (the kubelet of Skiff)',
    'After=ecs.service network-online.target',
    'Wants=ecs.service network-online.target',
    '[Service]',
    'Environment=AWS_REGION=$REGION',
    [
      'ExecStart=$NODE /opt/skiff/skiff.mjs agent --runtime ecs',
      '--kubeconfig /etc/skiff/kubeconfig --name $INSTANCE_ID --address $PRIVATE_IP --pod-cidr $SUBNET_CIDR',
      `${settings.pods !== undefined ? `--pods ${settings.pods} ` : ''}--state-dir /var/lib/skiff`,
      `--subnets $POD_SUBNET --security-groups ${settings.podSecurityGroupId}`,
      `--pod-log-group ${settings.podLogGroup} --task-execution-role ${settings.taskExecutionRoleArn} --secret-prefix ${settings.secretPrefix}`,
      `--lifecycle-hook ${drainHookName} --keep-containers`,
    ].join(' '),
    'Restart=always',
    'RestartSec=5',
    '[Install]',
    'WantedBy=multi-user.target',
    'EOF',
    'systemctl daemon-reload',
    'systemctl enable --now skiff-agent.service',
  );
  return userData;
}

/** Records why a cdk-nag rule does not apply to a construct (and its children). */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
