/**
 * The /openapi/v2 document kubectl 1.27 and 1.28 read: made from the v3 documents, in shapes
 * kubectl's parser accepts (it fails on the whole document for one definition it cannot read),
 * and its protobuf form decoding to the same document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { openApiV2Document, openApiV2Protobuf, toV2Schema, wantsOpenApiV2Protobuf } from '../../../functions/api/openapi-v2.ts';
import { openApiV2Proto } from '../../../functions/api/protobuf/schema/openapi-v2-proto.ts';

type Json = Record<string, any>;

function everySchema(document: Json, visit: (schema: Json, where: string) => void): void {
  const walk = (schema: Json, where: string): void => {
    visit(schema, where);
    for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) walk(property, `${where}.${name}`);
    if (schema.items) walk(schema.items, `${where}[]`);
    if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${where}{}`);
  };
  for (const [id, schema] of Object.entries(document.definitions as Record<string, Json>)) walk(schema, id);
}

describe('the OpenAPI v2 document', () => {
  const document = openApiV2Document() as Json;

  it('is Swagger 2.0 with every served kind’s definition, named by its group-version-kind', () => {
    assert.equal(document.swagger, '2.0');
    const deployment = document.definitions['io.k8s.api.apps.v1.Deployment'];
    assert.deepEqual(deployment['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    assert.equal(document.definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties.replicas.type, 'integer');
  });

  it('resolves every reference within its definitions', () => {
    everySchema(document, (schema, where) => {
      if (schema.$ref) assert.ok(document.definitions[schema.$ref.replace('#/definitions/', '')], `${where} refers to ${schema.$ref}`);
    });
  });

  it('has only shapes kubectl reads: objects with properties or a value schema, arrays with one item schema, a reference alone', () => {
    everySchema(document, (schema, where) => {
      if (schema.type === 'object') assert.ok(schema.properties || typeof schema.additionalProperties === 'object', where);
      if (schema.type === 'array') assert.ok(typeof schema.items === 'object', where);
      if (schema.$ref)
        assert.deepEqual(
          Object.keys(schema).filter((key) => key !== '$ref' && key !== 'description' && !key.startsWith('x-')),
          [],
          where,
        );
      assert.equal(schema.allOf ?? schema.anyOf ?? schema.oneOf, undefined, where);
    });
  });

  it('keeps patch strategies beside references, as kubectl apply needs for $retainKeys', () => {
    const strategy = document.definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy;
    assert.deepEqual(strategy, { $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy', 'x-kubernetes-patch-strategy': 'retainKeys' });
  });

  it('declares fieldValidation on every PATCH of a kind, with its group-version-kind', () => {
    const patch = document.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query' && p.type === 'string'));
    assert.deepEqual(patch.parameters[0], {
      name: 'body',
      in: 'body',
      required: true,
      schema: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' },
    });
  });

  it('converts v3 schemas: allOf of one reference, nullable types, objects without properties', () => {
    assert.deepEqual(toV2Schema({ allOf: [{ $ref: '#/components/schemas/a.B' }], description: 'd', default: {} }), {
      $ref: '#/definitions/a.B',
      description: 'd',
    });
    assert.deepEqual(toV2Schema({ type: ['string', 'null'], enum: ['x'] }), { type: 'string', enum: ['x'] });
    assert.deepEqual(toV2Schema({ type: 'object', description: 'anything' }), { description: 'anything' });
    assert.deepEqual(toV2Schema({ type: 'object', additionalProperties: { type: 'string' } }), { type: 'object', additionalProperties: { type: 'string' } });
  });
});

describe('the OpenAPI v2 document as protobuf', () => {
  const type = protobuf.parse(openApiV2Proto, { keepCase: true }).root.lookupType('openapi.v2.Document');
  const decoded = type.toObject(type.decode(openApiV2Protobuf()), { defaults: false }) as Json;

  it('decodes to the same definitions, extensions as YAML', () => {
    const named = new Map<string, Json>(decoded.definitions.additional_properties.map((entry: Json) => [entry.name, entry.value]));
    assert.equal(decoded.swagger, '2.0');
    assert.equal(named.size, Object.keys(openApiV2Document().definitions as object).length);
    const deployment = named.get('io.k8s.api.apps.v1.Deployment')!;
    const gvk = deployment.vendor_extension.find((entry: Json) => entry.name === 'x-kubernetes-group-version-kind');
    assert.deepEqual(JSON.parse(gvk.value.yaml), [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    const replicas = named.get('io.k8s.api.apps.v1.DeploymentSpec')!.properties.additional_properties.find((p: Json) => p.name === 'replicas').value;
    assert.deepEqual([replicas.type.value, replicas.format, JSON.parse(replicas.default.yaml)], [['integer'], 'int32', 1]);
  });

  it('is what kubectl’s Accept asks for, in either spelling', () => {
    assert.equal(wantsOpenApiV2Protobuf('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), true);
    assert.equal(wantsOpenApiV2Protobuf('application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json'), true);
    assert.equal(wantsOpenApiV2Protobuf('application/json'), false);
    assert.equal(wantsOpenApiV2Protobuf(undefined), false);
  });
});
