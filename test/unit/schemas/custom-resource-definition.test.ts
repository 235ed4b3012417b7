import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregatedDiscovery, apiResourceList } from '../../../functions/api/discovery.ts';
import { planCrdStatus } from '../../../functions/controllers/custom-resource-definition/plan-crd-status.ts';
import { InvalidError, type StatusCause } from '../../../functions/core/errors.ts';
import { customResourceDefinitionSchema } from '../../../schemas/custom-resource-definition.ts';
import { setCustomResourceDefinitions } from '../../../schemas/custom-resource-registry.ts';
import { admit } from '../../../schemas/index.ts';
import { findType, types } from '../../../schemas/registry.ts';

function crd(spec: Record<string, unknown> = {}, name = 'widgets.example.com') {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', kind: 'Widget', shortNames: ['wd'], categories: ['all'] },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      ...spec,
    },
  };
}

function causesOf(body: Record<string, unknown>): readonly string[] {
  try {
    admit(types.customresourcedefinitions, body, { operation: 'create' });
  } catch (error) {
    assert.ok(error instanceof InvalidError, `expected InvalidError, got ${String(error)}`);
    return (error.details?.causes ?? []).map((cause: StatusCause) => `${cause.field}: ${cause.message}`);
  }
  return [];
}

describe('CustomResourceDefinition validation', () => {
  const v1 = { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } };
  const cases: { name: string; body: Record<string, unknown>; expect: string[] }[] = [
    { name: 'a valid CRD', body: crd(), expect: [] },
    {
      name: 'a name that is not plural.group',
      body: crd({}, 'widget.example.com'),
      expect: ['metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group'],
    },
    {
      name: 'a group without a dot',
      body: crd({ group: 'example' }, 'widgets.example'),
      expect: ['spec.group: Invalid value: "example": should be a domain with at least one dot'],
    },
    {
      name: 'an unknown scope',
      body: crd({ scope: 'Global' }),
      expect: ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'],
    },
    {
      name: 'two storage versions',
      body: crd({ versions: [v1, { ...v1, name: 'v2' }] }),
      expect: [
        'spec.versions: Invalid value: [{Name:"v1" Served:true Storage:true} {Name:"v2" Served:true Storage:true}]: must have exactly one version marked as storage version',
      ],
    },
    {
      name: 'no schema',
      body: crd({ versions: [{ name: 'v1', served: true, storage: true }] }),
      expect: ['spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required'],
    },
    {
      name: 'a non-structural schema',
      body: crd({ versions: [{ ...v1, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { properties: {} } } } } }] }),
      expect: ['spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields'],
    },
    {
      name: 'a kind that is not a DNS label in lower case',
      body: crd({ names: { plural: 'widgets', singular: 'widget', kind: 'Wid_get' } }),
      expect: [
        "spec.names.kind: Invalid value: \"Wid_get\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        "spec.names.listKind: Invalid value: \"Wid_getList\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ],
    },
    {
      name: 'a printer column of an unknown type',
      body: crd({ versions: [{ ...v1, additionalPrinterColumns: [{ name: 'X', type: 'text', jsonPath: '.spec.x' }] }] }),
      expect: ['spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,string'],
    },
    {
      name: 'a scale path outside spec',
      body: crd({ versions: [{ ...v1, subresources: { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } } }] }),
      expect: ['spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec'],
    },
  ];
  for (const { name, body, expect } of cases) {
    it(name, () => assert.deepEqual(causesOf(body), expect));
  }

  it('defaults singular and listKind and starts with the storage version stored', () => {
    const { object } = admit(types.customresourcedefinitions, crd(), { operation: 'create' });
    const spec = object.spec as { names: Record<string, unknown> };
    assert.equal(spec.names.singular, 'widget');
    assert.equal(spec.names.listKind, 'WidgetList');
    assert.deepEqual(object.status, { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: ['v1'] });
  });
});

describe('the CRD controller status and the served types', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const parsed = (body: Record<string, unknown>) =>
    customResourceDefinitionSchema.parse(admit(types.customresourcedefinitions, body, { operation: 'create' }).object);

  it('accepts free names and establishes the CRD', () => {
    const status = planCrdStatus(parsed(crd()), [], now);
    assert.deepEqual(
      (status.conditions as { type: string; status: string; reason: string }[]).map((c) => [c.type, c.status, c.reason]),
      [
        ['NamesAccepted', 'True', 'NoConflicts'],
        ['Established', 'True', 'InitialNamesAccepted'],
      ],
    );
    assert.deepEqual(status.acceptedNames, {
      plural: 'widgets',
      singular: 'widget',
      kind: 'Widget',
      listKind: 'WidgetList',
      shortNames: ['wd'],
      categories: ['all'],
    });
  });

  it('refuses a kind another CRD of the group has accepted', () => {
    const other = parsed(crd({ names: { plural: 'gadgets', singular: 'gadget', kind: 'Widget' } }, 'gadgets.example.com'));
    const established = { ...other, status: planCrdStatus(other, [], now) };
    const status = planCrdStatus(parsed(crd({ names: { plural: 'widgets', kind: 'Widget' } })), [established], now);
    const conditions = status.conditions as { type: string; status: string; reason: string; message: string }[];
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['NamesAccepted', 'False', 'KindConflict', '"Widget" is already in use'],
        ['Established', 'False', 'NotAccepted', 'not all names are accepted'],
      ],
    );
  });

  it('serves an established CRD in discovery with its short names, categories and subresources, and forgets it when gone', () => {
    const body = crd({
      versions: [
        { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } }, subresources: { status: {} } },
      ],
    });
    const defined = parsed(body);
    setCustomResourceDefinitions([{ ...defined, status: planCrdStatus(defined, [], now) } as never]);
    try {
      assert.equal(findType('example.com', 'v1', 'widgets')?.kind, 'Widget');
      assert.equal(findType('example.com', 'v1beta1', 'widgets')?.kind, 'Widget');
      const group = (
        aggregatedDiscovery('apis') as { items: { metadata: { name: string }; versions: { version: string; resources: Record<string, unknown>[] }[] }[] }
      ).items.find((item) => item.metadata.name === 'example.com');
      assert.deepEqual(
        group?.versions.map((v) => v.version),
        ['v1', 'v1beta1'],
        'the preferred (GA) version first',
      );
      const resource = group?.versions[0]?.resources[0];
      assert.equal(resource?.resource, 'widgets');
      assert.equal(resource?.singularResource, 'widget');
      assert.deepEqual(resource?.shortNames, ['wd']);
      assert.deepEqual(resource?.categories, ['all']);
      const list = apiResourceList('example.com', 'v1') as { resources: { name: string }[] };
      assert.deepEqual(
        list.resources.map((r) => r.name),
        ['widgets', 'widgets/status'],
      );
    } finally {
      setCustomResourceDefinitions([]);
    }
    assert.equal(findType('example.com', 'v1', 'widgets'), undefined);
    assert.equal(apiResourceList('example.com', 'v1'), undefined);
  });
});
