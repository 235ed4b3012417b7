import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitStatus, parseResize, streamRequestOf } from '../../../../node-agent/streaming/remote-command.ts';
import { decodeHeaderBlock, encodeHeaderBlock, spdyDictionary } from '../../../../node-agent/streaming/spdy-framing.ts';

describe('remote command protocol', () => {
  it('reports exit code 0 as Success and any other as a NonZeroExitCode Failure with the code as its cause', () => {
    assert.deepEqual(exitStatus(0), { metadata: {}, status: 'Success' });
    const cases: [number, string][] = [
      [1, '1'],
      [2, '2'],
      [127, '127'],
      [137, '137'],
    ];
    for (const [code, cause] of cases) {
      const status = exitStatus(code) as { status: string; reason: string; details: { causes: { reason: string; message: string }[] } };
      assert.equal(status.status, 'Failure');
      assert.equal(status.reason, 'NonZeroExitCode');
      assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: cause }]);
    }
  });

  it('reads the streams asked for from the query, stderr folded into the terminal with tty', () => {
    assert.deepEqual(streamRequestOf(new URLSearchParams('stdin=true&stdout=true&stderr=true')), { stdin: true, stdout: true, stderr: true, tty: false });
    assert.deepEqual(streamRequestOf(new URLSearchParams('stdin=1&stdout=1&stderr=1&tty=1')), { stdin: true, stdout: true, stderr: false, tty: true });
    assert.deepEqual(streamRequestOf(new URLSearchParams('stdout=false')), { stdin: false, stdout: false, stderr: false, tty: false });
  });

  it('takes terminal sizes as kubectl sends them and ignores anything else', () => {
    const cases: [string, { width: number; height: number } | undefined][] = [
      ['{"Width":80,"Height":24}', { width: 80, height: 24 }],
      ['{"Width":0,"Height":24}', undefined],
      ['{"Width":-1,"Height":24}', undefined],
      ['{"Width":1.5,"Height":24}', undefined],
      ['{"Width":70000,"Height":24}', undefined],
      ['not json', undefined],
      ['{}', undefined],
    ];
    for (const [text, expected] of cases) assert.deepEqual(parseResize(text), expected, text);
  });
});

describe('SPDY/3 header blocks', () => {
  it('round-trips name/value pairs, names in lower case, NUL-separated values joined', () => {
    const block = encodeHeaderBlock({ StreamType: 'error', port: '8080', requestid: '0' });
    assert.deepEqual(decodeHeaderBlock(block), { streamtype: 'error', port: '8080', requestid: '0' });
    const multi = encodeHeaderBlock({ a: 'one\0two' });
    assert.deepEqual(decodeHeaderBlock(multi), { a: 'one, two' });
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({})), {});
  });

  it('refuses a truncated block instead of reading past it', () => {
    const block = encodeHeaderBlock({ streamtype: 'stdout' });
    assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 2)), /truncated/);
    assert.throws(() => decodeHeaderBlock(Buffer.alloc(2)), /truncated/);
  });

  it('has the 1,423-byte dictionary of the SPDY/3 specification', () => {
    assert.equal(spdyDictionary.length, 1423);
    assert.equal(spdyDictionary.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
    assert.ok(spdyDictionary.toString('latin1').endsWith('enq=0.'));
  });
});
