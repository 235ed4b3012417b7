import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { targetHealthGatesFor, withGates } from '../../../../functions/domain/services/readiness-gates.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const service = (name: string, type: string, selector: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { type, selector, ports: [{ port: 80 }], ...extra },
});
const ingress = (name: string, backendService: string, className?: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'shop' },
  spec: { ...(className ? { ingressClassName: className } : {}), defaultBackend: { service: { name: backendService, port: { number: 80 } } } },
});
const ingressClass = (name: string, controller: string, isDefault = false): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
  spec: { controller },
});

describe('targetHealthGatesFor', () => {
  const classes = [ingressClass('skiff', 'skiff.io/ingress-controller', true), ingressClass('nginx', 'k8s.io/ingress-nginx')];
  const services = [
    service('web-lb', 'LoadBalancer', { app: 'web' }),
    service('web', 'ClusterIP', { app: 'web' }),
    service('other-lb', 'LoadBalancer', { app: 'other' }),
    service('web-nlb-elsewhere', 'LoadBalancer', { app: 'web' }, { loadBalancerClass: 'example.com/lb' }),
  ];

  it('gates a pod on every LoadBalancer Service of ours that selects it', () => {
    assert.deepEqual(targetHealthGatesFor('shop', { app: 'web' }, services, [], classes), ['target-health.skiff.io/web-lb']);
  });

  it('gates a pod behind an Ingress of a Skiff class, the default class when none is named', () => {
    const gates = targetHealthGatesFor('shop', { app: 'web' }, services, [ingress('a', 'web'), ingress('b', 'web', 'nginx')], classes);
    assert.deepEqual(gates, ['target-health.skiff.io/web-lb', 'target-health.skiff.io/ingress.skiff']);
  });

  it('leaves pods of other namespaces, other labels and no load balancer alone', () => {
    assert.deepEqual(targetHealthGatesFor('elsewhere', { app: 'web' }, services, [ingress('a', 'web')], classes), []);
    assert.deepEqual(targetHealthGatesFor('shop', { app: 'db' }, services, [ingress('a', 'web')], classes), []);
  });

  it('adds missing gates only, keeping the ones the pod was written with', () => {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { readinessGates: [{ conditionType: 'example.com/mine' }] } };
    const gated = withGates(pod, ['target-health.skiff.io/web-lb', 'example.com/mine']);
    assert.deepEqual((gated.spec as { readinessGates: unknown }).readinessGates, [
      { conditionType: 'example.com/mine' },
      { conditionType: 'target-health.skiff.io/web-lb' },
    ]);
    assert.equal(withGates(pod, []), pod);
  });
});
