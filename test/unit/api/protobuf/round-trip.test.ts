/**
 * encode → decode returns the object unchanged for realistic objects of every kind Skiff
 * decodes, including the special wire types (Time, MicroTime, Quantity, IntOrString, bytes,
 * FieldsV1), embedded structs and explicit zeros of pointer fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtobufObject, encodeProtobufObject } from '../../../../functions/api/protobuf/index.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const created = '2024-01-02T03:04:05Z';
const later = '2024-01-02T03:09:59Z';

const managedFields = [
  {
    manager: 'kubectl-create',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: created,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } },
  },
];

const podTemplate = {
  metadata: { labels: { app: 'web', tier: 'frontend' }, annotations: { 'kubectl.kubernetes.io/restartedAt': created } },
  spec: {
    volumes: [
      { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'config', configMap: { name: 'web-config', items: [{ key: 'nginx.conf', path: 'nginx.conf', mode: 420 }], defaultMode: 420 } },
      { name: 'tls', secret: { secretName: 'web-tls', optional: false } },
      { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'web-data', readOnly: true } },
      { name: 'share', nfs: { server: 'nfs.local', path: '/exports', readOnly: true } },
      { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
      {
        name: 'token',
        projected: {
          sources: [
            { serviceAccountToken: { audience: 'api', expirationSeconds: 3600, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
          defaultMode: 420,
        },
      },
      { name: 'secrets-store', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'aws' } } },
    ],
    initContainers: [{ name: 'migrate', image: 'web:1.2', command: ['/bin/migrate'], args: ['--up'], resources: {} }],
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        workingDir: '/srv',
        ports: [
          { name: 'http', containerPort: 80, protocol: 'TCP' },
          { name: 'metrics', containerPort: 9090, hostPort: 19090, protocol: 'TCP' },
        ],
        envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'web-env' } }, { secretRef: { name: 'web-secret-env', optional: true } }],
        env: [
          { name: 'MODE', value: 'production' },
          { name: 'EMPTY' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'level', optional: false } } },
          { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } } },
        ],
        resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
        volumeMounts: [
          { name: 'cache', mountPath: '/var/cache/nginx' },
          { name: 'config', mountPath: '/etc/nginx/nginx.conf', subPath: 'nginx.conf', readOnly: true },
        ],
        livenessProbe: {
          httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'live' }] },
          initialDelaySeconds: 5,
          periodSeconds: 10,
          timeoutSeconds: 1,
          successThreshold: 1,
          failureThreshold: 3,
        },
        readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
        startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, failureThreshold: 30, terminationGracePeriodSeconds: 0 },
        lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { exec: { command: ['/bin/warm'] } } },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
        securityContext: {
          capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
          runAsUser: 101,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
      { name: 'sidecar', image: 'busybox', args: ['sleep', 'infinity'], readinessProbe: { grpc: { port: 9000 } }, resources: {}, stdin: true, tty: true },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    serviceAccountName: 'web',
    serviceAccount: 'web',
    automountServiceAccountToken: false,
    securityContext: {
      runAsGroup: 3000,
      fsGroup: 2000,
      supplementalGroups: [4000, 5000],
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
    },
    imagePullSecrets: [{ name: 'registry' }],
    hostname: 'web-0',
    subdomain: 'web',
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a', 'b'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } }],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } },
        ],
      },
    },
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' },
    ],
    hostAliases: [{ ip: '10.0.0.5', hostnames: ['db.local'] }],
    priorityClassName: 'high',
    priority: 0,
    dnsConfig: { nameservers: ['1.1.1.1'], searches: ['svc.local'], options: [{ name: 'ndots', value: '2' }] },
    readinessGates: [{ conditionType: 'example.com/ready' }],
    enableServiceLinks: false,
    preemptionPolicy: 'PreemptLowerPriority',
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } },
    ],
    os: { name: 'linux' },
  },
};

const objects: readonly KubeObject[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'team-a',
      uid: '6c0d3d36-0a4e-4a5c-9d5f-1b1f0a9c2e11',
      resourceVersion: '42',
      creationTimestamp: created,
      deletionTimestamp: later,
      labels: { 'kubernetes.io/metadata.name': 'team-a' },
      finalizers: ['example.com/cleanup'],
    },
    spec: { finalizers: ['kubernetes'] },
    status: {
      phase: 'Terminating',
      conditions: [
        {
          type: 'NamespaceContentRemaining',
          status: 'True',
          lastTransitionTime: later,
          reason: 'SomeResourcesRemain',
          message: 'Some resources are remaining: pods. has 1 resource instances',
        },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: {
      podCIDR: '10.244.1.0/24',
      podCIDRs: ['10.244.1.0/24'],
      providerID: 'aws:///us-east-1a/i-0123456789abcdef0',
      unschedulable: true,
      taints: [
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: later },
        { key: 'dedicated', value: 'gpu', effect: 'NoExecute' },
      ],
    },
    status: {
      capacity: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          lastHeartbeatTime: later,
          lastTransitionTime: created,
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
        },
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.1.15' },
        { type: 'Hostname', address: 'node-1' },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: 'ec2a1b',
        systemUUID: 'ec2a1b-uuid',
        bootID: 'boot-1',
        kernelVersion: '6.1.0',
        osImage: 'Amazon Linux 2023',
        containerRuntimeVersion: 'skiff://0.1.0',
        kubeletVersion: 'v1.32.4',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: [{ names: ['docker.io/library/nginx@sha256:abc', 'docker.io/library/nginx:1.27'], sizeBytes: 72_000_000 }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d9c5b8f6-x2x4q',
      generateName: 'web-7d9c5b8f6-',
      namespace: 'default',
      uid: 'b8c3a4a6-52ab-4bd3-8f83-0a0a6a1c3f5e',
      resourceVersion: '1001',
      creationTimestamp: created,
      deletionGracePeriodSeconds: 0,
      labels: { app: 'web', 'pod-template-hash': '7d9c5b8f6' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b8f6', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: podTemplate.spec,
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: later },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: created },
      ],
      hostIP: '10.0.1.15',
      hostIPs: [{ ip: '10.0.1.15' }],
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }],
      startTime: created,
      initContainerStatuses: [
        {
          name: 'migrate',
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: created, finishedAt: later, containerID: 'skiff://migrate' } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image: 'web:1.2',
          imageID: 'web@sha256:def',
          started: false,
        },
      ],
      containerStatuses: [
        {
          name: 'web',
          state: { running: { startedAt: later } },
          lastState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', message: 'out of memory', startedAt: created, finishedAt: later } },
          ready: true,
          restartCount: 1,
          image: 'nginx:1.27',
          imageID: 'docker.io/library/nginx@sha256:abc',
          containerID: 'skiff://web',
          started: true,
        },
        {
          name: 'sidecar',
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } },
          lastState: {},
          ready: false,
          restartCount: 3,
          image: 'busybox',
          imageID: '',
          started: false,
        },
      ],
      qosClass: 'Burstable',
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
    spec: {
      ports: [
        { name: 'http', protocol: 'TCP', appProtocol: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
        { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 9090, nodePort: 30090 },
      ],
      selector: { app: 'web' },
      clusterIP: '10.96.12.34',
      clusterIPs: ['10.96.12.34'],
      type: 'LoadBalancer',
      externalIPs: ['203.0.113.10'],
      sessionAffinity: 'ClientIP',
      loadBalancerSourceRanges: ['0.0.0.0/0'],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
      publishNotReadyAddresses: true,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      allocateLoadBalancerNodePorts: true,
      loadBalancerClass: 'service.k8s.aws/nlb',
      internalTrafficPolicy: 'Cluster',
    },
    status: {
      loadBalancer: {
        ingress: [
          {
            hostname: 'web-123.elb.amazonaws.com',
            ipMode: 'Proxy',
            ports: [
              { port: 80, protocol: 'TCP' },
              { port: 9090, protocol: 'TCP', error: 'example.com/PortUnavailable' },
            ],
          },
        ],
      },
      conditions: [{ type: 'LoadBalancerReady', status: 'True', observedGeneration: 2, lastTransitionTime: later, reason: 'Provisioned', message: '' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    subsets: [
      {
        addresses: [{ ip: '10.244.1.7', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-7d9c5b8f6-x2x4q', uid: 'b8c3a4a6' } }],
        notReadyAddresses: [{ ip: '10.244.2.9', hostname: 'web-1' }],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }],
      },
    ],
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web-config', namespace: 'default' },
    immutable: true,
    data: { 'nginx.conf': 'worker_processes 1;\nevents {}\n', level: '3', empty: '' },
    binaryData: { 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString('base64') },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'default' },
    immutable: false,
    data: { password: Buffer.from('s3cr3t').toString('base64'), binary: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64') },
    stringData: { note: 'write-only' },
    type: 'Opaque',
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-7d9c5b8f6-x2x4q.17a8c0e1', namespace: 'default' },
    involvedObject: {
      kind: 'Pod',
      namespace: 'default',
      name: 'web-7d9c5b8f6-x2x4q',
      uid: 'b8c3a4a6',
      apiVersion: 'v1',
      resourceVersion: '1001',
      fieldPath: 'spec.containers{web}',
    },
    reason: 'Pulled',
    message: 'Container image "nginx:1.27" already present on machine',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: created,
    lastTimestamp: later,
    count: 2,
    type: 'Normal',
    eventTime: '2024-01-02T03:04:05.123456Z',
    series: { count: 2, lastObservedTime: '2024-01-02T03:09:59.000001Z' },
    action: 'Pulling',
    related: { kind: 'Node', name: 'node-1' },
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1',
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'dep-uid',
      resourceVersion: '900',
      generation: 3,
      creationTimestamp: created,
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': '2' },
      managedFields,
    },
    spec: {
      replicas: 3,
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['frontend'] },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      template: podTemplate,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
      minReadySeconds: 5,
      revisionHistoryLimit: 0,
      paused: true,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      unavailableReplicas: 1,
      conditions: [
        {
          type: 'Available',
          status: 'False',
          lastUpdateTime: later,
          lastTransitionTime: later,
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: later,
          lastTransitionTime: created,
          reason: 'NewReplicaSetAvailable',
          message: 'ReplicaSet "web-7d9c5b8f6" has successfully progressed.',
        },
      ],
      collisionCount: 0,
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: 'web-7d9c5b8f6',
      namespace: 'default',
      labels: { app: 'web', 'pod-template-hash': '7d9c5b8f6' },
      annotations: { 'deployment.kubernetes.io/revision': '2', 'kubernetes.io/change-cause': 'kubectl set image' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-uid', controller: true, blockOwnerDeletion: false }],
    },
    spec: {
      replicas: 0,
      minReadySeconds: 5,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d9c5b8f6' } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': '7d9c5b8f6' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.26', resources: {} }] },
      },
    },
    status: {
      replicas: 0,
      observedGeneration: 4,
      conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: later, reason: 'FailedCreate', message: 'quota exceeded' }],
    },
  },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'skiff-scheduler', namespace: 'kube-system' },
    spec: {
      holderIdentity: 'scheduler-1',
      leaseDurationSeconds: 15,
      acquireTime: '2024-01-02T03:04:05.000000Z',
      renewTime: '2024-01-02T03:09:59.999999Z',
      leaseTransitions: 0,
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'default', annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' } },
    spec: {
      ingressClassName: 'alb',
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static-assets' } },
      tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
      rules: [
        {
          host: 'web.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
              { path: '/api', pathType: 'Exact', backend: { service: { name: 'api', port: { name: 'http' } } } },
            ],
          },
        },
        { http: { paths: [{ path: '/healthz', pathType: 'ImplementationSpecific', backend: { service: { name: 'health', port: { number: 8080 } } } }] } },
      ],
    },
    status: { loadBalancer: { ingress: [{ hostname: 'k8s-web.elb.amazonaws.com', ports: [{ port: 443, protocol: 'TCP', error: 'CertificateMissing' }] }] } },
  },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-abcde',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.244.1.7'],
        conditions: { ready: true, serving: true, terminating: false },
        hostname: 'web-0',
        targetRef: { kind: 'Pod', namespace: 'default', name: 'web-7d9c5b8f6-x2x4q', uid: 'b8c3a4a6' },
        nodeName: 'node-1',
        zone: 'us-east-1a',
        hints: { forZones: [{ name: 'us-east-1a' }] },
      },
      { addresses: ['10.244.2.9'], conditions: { ready: false } },
    ],
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' },
      { name: '', protocol: 'UDP', port: 53 },
    ],
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'db-access', namespace: 'default', uid: 'np-uid', resourceVersion: '950', generation: 1, creationTimestamp: created },
    spec: {
      podSelector: { matchLabels: { role: 'db' } },
      ingress: [
        {
          from: [
            { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
            { namespaceSelector: { matchLabels: { project: 'shop' } }, podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['web'] }] } },
          ],
          ports: [
            { protocol: 'TCP', port: 6379 },
            { protocol: 'UDP', port: 'dns' },
          ],
        },
      ],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }, {}],
      policyTypes: ['Ingress', 'Egress'],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'default-deny', namespace: 'default' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
  {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'web', namespace: 'default', uid: 'dep-uid', resourceVersion: '900', creationTimestamp: created },
    spec: { replicas: 5 },
    status: { replicas: 3, selector: 'app=web,tier in (frontend)' },
  },
  {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'idle' },
    spec: {},
    status: { replicas: 0 },
  },
];

const subresourceBodies = [
  {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'web-7d9c5b8f6-x2x4q', namespace: 'default' },
    target: { kind: 'Node', apiVersion: 'v1', name: 'node-1' },
  },
  {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: 'web-7d9c5b8f6-x2x4q', namespace: 'default' },
    deleteOptions: { gracePeriodSeconds: 30, preconditions: { uid: 'b8c3a4a6' } },
  },
] as unknown as readonly KubeObject[];

const deleteOptions = [
  {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'DeleteOptions',
    gracePeriodSeconds: 0,
    preconditions: { uid: 'dep-uid', resourceVersion: '900' },
    propagationPolicy: 'Foreground',
    dryRun: ['All'],
  },
  { apiVersion: 'v1', kind: 'DeleteOptions', orphanDependents: false, propagationPolicy: 'Background' },
] as unknown as readonly KubeObject[];

describe('protobuf encode then decode', () => {
  for (const object of [...objects, ...subresourceBodies, ...deleteOptions]) {
    it(`returns the same ${object.kind} (${object.apiVersion}) ${object.metadata?.name ?? ''}`.trimEnd(), () => {
      const bytes = encodeProtobufObject(object);
      assert.deepStrictEqual([...bytes.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
      assert.deepStrictEqual(decodeProtobufObject(bytes), object);
    });
  }

  it('covers every served kind plus Scale, Binding, Eviction and DeleteOptions', () => {
    const kinds = new Set([...objects, ...subresourceBodies, ...deleteOptions].map((o) => `${o.apiVersion}/${o.kind}`));
    for (const kind of [
      'v1/Namespace',
      'v1/Node',
      'v1/Pod',
      'v1/Service',
      'v1/Endpoints',
      'v1/ConfigMap',
      'v1/Secret',
      'v1/Event',
      'apps/v1/Deployment',
      'apps/v1/ReplicaSet',
      'coordination.k8s.io/v1/Lease',
      'networking.k8s.io/v1/Ingress',
      'networking.k8s.io/v1/NetworkPolicy',
      'discovery.k8s.io/v1/EndpointSlice',
      'autoscaling/v1/Scale',
      'v1/Binding',
      'policy/v1/Eviction',
      'meta.k8s.io/v1/DeleteOptions',
      'v1/DeleteOptions',
    ]) {
      assert.ok(kinds.has(kind), `no round-trip case for ${kind}`);
    }
  });

  it('does not change the object it encodes', () => {
    const object = objects.find((o) => o.kind === 'Deployment')!;
    const before = structuredClone(object);
    encodeProtobufObject(object);
    assert.deepStrictEqual(object, before);
  });
});
