import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../../schemas/index.ts';
import { types } from '../../../schemas/registry.ts';

describe('Secret stringData', () => {
  it('folds stringData into base64 data and drops it', () => {
    const { object } = admit(types.secrets, { metadata: { name: 's' }, stringData: { user: 'admin', note: 'héllo' } }, { operation: 'create' });
    assert.deepEqual(object.data, { user: Buffer.from('admin').toString('base64'), note: Buffer.from('héllo', 'utf8').toString('base64') });
    assert.equal('stringData' in object, false);
  });

  it('lets stringData win over data for the same key and keeps the other data keys', () => {
    const { object } = admit(
      types.secrets,
      { metadata: { name: 's' }, data: { user: 'b2xk', keep: 'a2VlcA==' }, stringData: { user: 'new' } },
      { operation: 'create' },
    );
    assert.deepEqual(object.data, { user: 'bmV3', keep: 'a2VlcA==' });
  });

  it('satisfies a type’s required keys through stringData', () => {
    const { object } = admit(
      types.secrets,
      { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'CERT', 'tls.key': 'KEY' } },
      { operation: 'create' },
    );
    assert.deepEqual(Object.keys(object.data as object).sort(), ['tls.crt', 'tls.key']);
  });
});
