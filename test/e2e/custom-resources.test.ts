/**
 * CustomResourceDefinitions with the real kubectl, on one local cluster without nodes: a CRD with
 * a schema, printer columns, short names, a category and the status and scale subresources is
 * applied and Established; its custom resources are applied, listed with their columns, explained,
 * refused when invalid with the schema's message, patched, scaled; deleting the CRD removes them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
      additionalPrinterColumns:
        - name: Color
          type: string
          jsonPath: .spec.color
        - name: Replicas
          type: integer
          jsonPath: .spec.replicas
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [color]
              properties:
                color:
                  type: string
                  enum: [red, green, blue]
                replicas:
                  type: integer
                  minimum: 0
                  maximum: 10
                  default: 1
                size:
                  x-kubernetes-int-or-string: true
            status:
              type: object
              properties:
                replicas:
                  type: integer
`;

const widget = (name: string, color: string, extra = '') => `
apiVersion: example.com/v1
kind: Widget
metadata:
  name: ${name}
spec:
  color: ${color}
${extra}`;

describe('custom resources with kubectl', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('applies a CRD and waits for it to be established', async () => {
    assert.match(await cluster.kubectlOk(['apply', '-f', '-'], { input: crd }), /customresourcedefinition.apiextensions.k8s.io\/widgets.example.com created/);
    await cluster.kubectlOk(['wait', '--for', 'condition=established', '--timeout=30s', 'crd/widgets.example.com']);
    const listed = await cluster.kubectlOk(['get', 'crd']);
    assert.match(listed, /^NAME\s+CREATED AT$/m);
    assert.match(listed, /^widgets\.example\.com\s+\d{4}-\d\d-\d\dT/m);
  });

  it('serves the custom resources: apply, get with the columns, the short name, the all category', async () => {
    assert.match(await cluster.kubectlOk(['apply', '-f', '-'], { input: widget('w1', 'red') }), /widget.example.com\/w1 created/);
    const table = await cluster.kubectlOk(['get', 'widgets']);
    assert.match(table, /^NAME\s+COLOR\s+REPLICAS\s+AGE$/m);
    assert.match(table, /^w1\s+red\s+1\s+\d+s$/m);
    assert.match(await cluster.kubectlOk(['get', 'wd']), /^w1\s+red\s+1/m);
    assert.match(await cluster.kubectlOk(['get', 'all']), /widget\.example\.com\/w1/);
    const object = JSON.parse(await cluster.kubectlOk(['get', 'widget', 'w1', '-o', 'json']));
    assert.equal(object.spec.replicas, 1, 'the schema default is applied');
  });

  it('explains the custom kind from its schema, and applies changes to it as a merge patch', async () => {
    const explained = await cluster.kubectl(['explain', 'widget.spec']);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /^KIND:\s+Widget$/m);
    assert.match(explained.stdout, /^\s+color\s+<string> -required-$/m);
    assert.match(explained.stdout, /^\s+replicas\s+<integer>$/m);
    // With the kind in the OpenAPI documents and no strategic merge patch offered, kubectl sends a merge patch.
    assert.match(await cluster.kubectlOk(['apply', '-f', '-'], { input: widget('w1', 'blue') }), /widget.example.com\/w1 configured/);
    assert.equal(JSON.parse(await cluster.kubectlOk(['get', 'widget', 'w1', '-o', 'json'])).spec.color, 'blue');
  });

  it('refuses an invalid object with the schema message', async () => {
    const result = await cluster.kubectl(['apply', '-f', '-'], { input: widget('w2', 'pink') });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /The Widget "w2" is invalid: spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"/);
    const tooMany = await cluster.kubectl(['apply', '-f', '-'], { input: widget('w3', 'red', '  replicas: 11') });
    assert.match(tooMany.stderr, /spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10/);
  });

  it('drops unknown fields with a warning, refuses them with --validate=strict', async () => {
    const warned = await cluster.kubectl(['apply', '--validate=warn', '-f', '-'], { input: widget('w4', 'green', '  colour: green') });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /unknown field "spec.colour"/);
    assert.equal(JSON.parse(await cluster.kubectlOk(['get', 'widget', 'w4', '-o', 'json'])).spec.colour, undefined);
    const strict = await cluster.kubectl(['apply', '--validate=strict', '-f', '-'], { input: widget('w5', 'green', '  colour: green') });
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /unknown field "spec.colour"/);
  });

  it('keeps status to the status subresource', async () => {
    await cluster.kubectlOk(['patch', 'widget', 'w4', '--type=merge', '-p', '{"status":{"replicas":5}}']);
    assert.equal(JSON.parse(await cluster.kubectlOk(['get', 'widget', 'w4', '-o', 'json'])).status, undefined, 'the main resource ignores status');
    await cluster.kubectlOk(['patch', 'widget', 'w4', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":5},"spec":{"color":"red"}}']);
    const object = JSON.parse(await cluster.kubectlOk(['get', 'widget', 'w4', '-o', 'json']));
    assert.equal(object.status.replicas, 5);
    assert.equal(object.spec.color, 'green', 'the status subresource ignores spec');
  });

  it("refuses a CRD whose schema is not structural, with kube-apiserver's message", async () => {
    const bad = crd
      .replace('widgets.example.com', 'gadgets.example.com')
      .replace('plural: widgets', 'plural: gadgets')
      .replace('singular: widget', 'singular: gadget')
      .replace('kind: Widget', 'kind: Gadget')
      .replace('shortNames: [wd]', 'shortNames: [gd]')
      .replace('            status:\n              type: object\n', '            status:\n');
    const result = await cluster.kubectl(['apply', '-f', '-'], { input: bad });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /spec.versions\[0\].schema.openAPIV3Schema.properties\[status\].type: Required value: must not be empty for specified object fields/,
    );
  });

  it('authorizes custom resources by their group and resource with RBAC', async () => {
    await cluster.kubectlOk(['create', 'role', 'widget-reader', '--verb=get,list', '--resource=widgets.example.com']);
    await cluster.kubectlOk(['create', 'rolebinding', 'widget-reader', '--role=widget-reader', '--user=alice']);
    assert.match(await cluster.kubectlOk(['get', 'widgets', '--as=alice']), /^w1\s/m);
    const refused = await cluster.kubectl(['get', 'widgets', '--as=bob']);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /widgets.example.com is forbidden: User "bob" cannot list resource "widgets" in API group "example.com" in the namespace "default"/,
    );
  });

  it('patches with a merge patch, scales, and refuses a strategic merge patch', async () => {
    await cluster.kubectlOk(['patch', 'widget', 'w1', '--type=merge', '-p', '{"spec":{"color":"blue"}}']);
    await cluster.kubectlOk(['scale', 'widget', 'w1', '--replicas=3']);
    assert.match(await cluster.kubectlOk(['get', 'widgets']), /^w1\s+blue\s+3/m);
    const strategic = await cluster.kubectl(['patch', 'widget', 'w1', '--type=strategic', '-p', '{"spec":{"color":"green"}}']);
    assert.notEqual(strategic.code, 0);
    assert.match(strategic.stderr, /unknown format|UnsupportedMediaType|not supported/i);
  });

  it('removes the objects when the CRD is deleted', async () => {
    await cluster.kubectlOk(['delete', 'crd', 'widgets.example.com', '--timeout=60s']);
    const gone = await cluster.kubectl(['get', 'widgets']);
    assert.notEqual(gone.code, 0);
    await waitFor('the CRD gone', async () => (await cluster.kubectl(['get', 'crd', 'widgets.example.com'])).code !== 0 || undefined);
    // Defined again, the kind starts empty: the objects went with the CRD.
    await cluster.kubectlOk(['apply', '-f', '-'], { input: crd });
    await cluster.kubectlOk(['wait', '--for', 'condition=established', '--timeout=30s', 'crd/widgets.example.com']);
    const listed = await cluster.kubectl(['get', 'widgets', '-A']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /No resources found/);
  });
});
