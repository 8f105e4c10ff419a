import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MEMBER_ORDER, readTarball, TarballError } from '../../src-main/hex/tarball.js';
import { buildTarball, FixtureRepo, listTar } from '../support/hex-fixtures.js';
import { requireTool } from '../support/tools.js';

const hasErl = requireTool('erl', 'apt-get install erlang-nox', ['-noshell', '-eval', 'halt().']);

/** Feeds the bytes in small chunks, like a network stream. */
function stream(bytes: Buffer, chunk = 700): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
}

const spec = {
  name: 'foo',
  version: '1.2.3-rc.1+build.1',
  description: 'Says "hello" – naïvely',
  deps: [
    { name: 'bar', requirement: '~> 1.0' },
    { name: 'baz', requirement: '>= 0.1.0', optional: true },
  ],
};

describe('readTarball', () => {
  it('computes the inner checksum of a real v3 tarball', async () => {
    const fixture = await buildTarball(spec);
    const summary = await readTarball(stream(fixture.bytes));
    expect(summary.formatVersion).toBe('3');
    expect(summary.innerChecksum).toBe(fixture.innerChecksum);
    expect(summary.declaredInnerChecksum).toBe(fixture.innerChecksum.toUpperCase());
    expect(summary.declaredInnerChecksum.toLowerCase()).toBe(summary.innerChecksum);
    expect(createHash('sha256').update(fixture.bytes).digest('hex')).toBe(fixture.outerChecksum);
  });

  it('builds the outer tar like hex_core: member order, mtime, owner, uncompressed', async () => {
    const fixture = await buildTarball(spec);
    const members = await listTar(fixture.bytes);
    expect([...members.keys()]).toEqual([...MEMBER_ORDER]);
    expect(members.get('VERSION')!.toString()).toBe('3');
    expect(members.get('CHECKSUM')!.toString()).toMatch(/^[0-9A-F]{64}$/);
    const inner = createHash('sha256')
      .update(members.get('VERSION')!)
      .update(members.get('metadata.config')!)
      .update(members.get('contents.tar.gz')!)
      .digest('hex');
    expect(inner).toBe(fixture.innerChecksum);
    // ustar header of the first member: mtime 2000-01-01 (octal 7250632600), uid/gid 0.
    const header = fixture.bytes.subarray(0, 512).toString('latin1');
    expect(header.slice(257, 262)).toBe('ustar');
    expect(header.slice(136, 147)).toBe((946684800).toString(8).padStart(11, '0'));
    expect(header.slice(108, 114)).toBe('000000');
    // contents.tar.gz is a gzip (mtime 0) of a tar with the library sources.
    const contents = members.get('contents.tar.gz')!;
    expect(contents.subarray(0, 2).toString('hex')).toBe('1f8b');
    expect(contents.readUInt32LE(4)).toBe(0);
    expect(fixture.bytes.subarray(...fixture.contentsRange).equals(contents)).toBe(true);
    const files = await listTar(contents);
    expect([...files.keys()]).toEqual(['src/foo.app.src', 'src/foo.erl', 'rebar.config']);
    expect(files.get('src/foo.app.src')!.toString()).toContain('{applications, [kernel, stdlib, bar, baz]}');
    expect(files.get('src/foo.erl')!.toString()).toContain('bar:hello()');
    expect(files.get('rebar.config')!.toString()).toContain('{deps, [{bar, "~> 1.0"}]}.');
    expect(gunzipSync(contents).length % 512).toBe(0);
  });

  it('is reproducible, and replace() changes the bytes', async () => {
    const a = await buildTarball(spec);
    const b = await buildTarball(spec);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    const repo = new FixtureRepo();
    const first = await repo.publish({ name: 'foo', version: '1.0.0' });
    const second = await repo.replace({ name: 'foo', version: '1.0.0' });
    expect(second.outerChecksum).not.toBe(first.outerChecksum);
    expect(second.innerChecksum).not.toBe(first.innerChecksum);
    expect(repo.tarball('foo', '1.0.0')!.equals(second.bytes)).toBe(true);
    expect((await readTarball(stream(second.bytes))).innerChecksum).toBe(second.innerChecksum);
  });

  it('rejects a truncated tarball', async () => {
    const fixture = await buildTarball(spec);
    for (const cut of [100, 1536, Math.floor(fixture.bytes.length / 2), fixture.contentsRange[0] + 10]) {
      await expect(readTarball(stream(fixture.bytes.subarray(0, cut)))).rejects.toBeInstanceOf(TarballError);
    }
  });

  it('rejects members in the wrong order', async () => {
    const fixture = await buildTarball(spec, { memberOrder: ['CHECKSUM', 'VERSION', 'metadata.config', 'contents.tar.gz'] });
    await expect(readTarball(stream(fixture.bytes))).rejects.toThrow(/unexpected member "CHECKSUM"/);
  });

  it('rejects a missing member', async () => {
    const fixture = await buildTarball(spec, { memberOrder: ['VERSION', 'CHECKSUM', 'metadata.config'] });
    await expect(readTarball(stream(fixture.bytes))).rejects.toBeInstanceOf(TarballError);
  });

  it('rejects format version "2"', async () => {
    const fixture = await buildTarball(spec, { formatVersion: '2' });
    await expect(readTarball(stream(fixture.bytes))).rejects.toThrow(/format version "2"/);
  });

  it('rejects something that is not a tar at all', async () => {
    await expect(readTarball(stream(Buffer.from('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>'.repeat(20))))).rejects.toBeInstanceOf(
      TarballError,
    );
  });

  it('reports a declared CHECKSUM that does not match the contents', async () => {
    const fixture = await buildTarball(spec, { declaredChecksum: 'A'.repeat(64) });
    const summary = await readTarball(stream(fixture.bytes));
    expect(summary.declaredInnerChecksum).toBe('A'.repeat(64));
    expect(summary.innerChecksum).toBe(fixture.innerChecksum);
  });

  it.skipIf(!hasErl)('writes metadata.config that file:consult reads, and a tarball erl_tar reads', async () => {
    const fixture = await buildTarball(spec);
    const dir = mkdtempSync(join(tmpdir(), 'hexhub-fixture-'));
    try {
      writeFileSync(join(dir, 'pkg.tar'), fixture.bytes);
      writeFileSync(join(dir, 'metadata.config'), fixture.metadataConfig);
      const out = execFileSync(
        'erl',
        [
          '-noshell',
          '-eval',
          `io:setopts([{encoding,unicode}]),
           {ok,T}=file:consult("metadata.config"),
           {ok,Files}=erl_tar:extract("pkg.tar",[memory]),
           {_,C}=lists:keyfind("contents.tar.gz",1,Files),
           {ok,Src}=erl_tar:extract({binary,C},[memory,compressed]),
           {_,Reqs}=lists:keyfind(<<"requirements">>,1,T),
           {_,Baz}=lists:keyfind(<<"baz">>,1,Reqs),
           io:format("~ts~n~ts~n~s~n~s~n~w~n",[proplists:get_value(<<"name">>,T),proplists:get_value(<<"description">>,T),
             string:join([N || {N,_} <- Files],","),string:join([N || {N,_} <- Src],","),
             proplists:get_value(<<"optional">>,Baz)]),
           halt().`,
        ],
        { cwd: dir, encoding: 'utf8', timeout: 10_000 },
      );
      const lines = out.trim().split('\n');
      expect(lines).toEqual([
        'foo',
        'Says "hello" – naïvely',
        'VERSION,CHECKSUM,metadata.config,contents.tar.gz',
        'src/foo.app.src,src/foo.erl,rebar.config',
        'true',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
