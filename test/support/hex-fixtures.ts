// Test fixtures for the Hex protocol: signing keys, real package tarballs (v3, built the
// way hex_core builds them), a signed in-memory repository and hex.pm API documents.
//
//   testKeys() / otherKeys()                 cached RSA-2048 pairs (PKCS8 / SPKI PEM)
//   buildTarball(spec, opts?)                → { bytes, innerChecksum, outerChecksum, ... }
//                                              opts: revision, formatVersion, declaredChecksum, memberOrder (fault cases)
//   buildDocsTarball(name, version, html?)   → gzip(tar[index.html, ...])
//   signPayload / packSigned / unpackSigned  low-level gzip(Signed) helpers for fault cases
//   encodeErlangTerm(value)                  term_to_binary for JSON-like values (API bodies)
//   decodeErlangTerm(body)                   binary_to_term for the same (reading what the mirror sends)
//   new FixtureRepo({ repository?, privateKeyPem? })
//     await publish(spec, opts?) / await replace(spec, opts?) / retire() / revert()
//     await publishDocs(name, version, html?) / docs(name, version)
//     namesBody(opts?) / versionsBody(opts?) / packageBody(name, opts?)   gzip(Signed(...))
//     tarball(name, version) / release() / releases(name) / packages()
//     apiPackageJson(name) / apiReleaseJson(name, version)
//
// Everything is deterministic: the same specs published in the same order give the same
// bytes (and therefore the same checksums and ETags) in every run.
import { createHash, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { encodeNames, encodePackage, encodeVersions, type PackageRecord, type NamesRecord, type VersionsRecord } from '../../src-main/hex/registry.js';
import { isPackageName, isVersion } from '../../src-main/hex/names.js';
import { compareVersions } from '../../src-main/hex/versions.js';

// ---------------------------------------------------------------- keys

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

function generateKeys(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

let cachedTestKeys: KeyPair | undefined;
let cachedOtherKeys: KeyPair | undefined;

/** The fixture repository's signing key pair, generated once per process. */
export function testKeys(): KeyPair {
  return (cachedTestKeys ??= generateKeys());
}

/** A second, unrelated key pair (for "signed by someone else" cases). */
export function otherKeys(): KeyPair {
  return (cachedOtherKeys ??= generateKeys());
}

// ---------------------------------------------------------------- specs

export interface DepSpec {
  name: string;
  requirement: string;
  optional?: boolean;
  /** OTP application name; defaults to the package name. */
  app?: string;
  /** Repository of the dependency; defaults to the parent's repository. */
  repository?: string;
}

export interface PackageSpec {
  name: string;
  version: string;
  deps?: DepSpec[];
  description?: string;
  /** Replaces the generated src/NAME.erl. */
  erlangModuleSource?: string;
}

export interface BuiltTarball {
  /** The whole outer tar, what /tarballs/NAME-VERSION.tar serves. */
  bytes: Buffer;
  /** SHA-256(VERSION ‖ metadata.config ‖ contents.tar.gz), lowercase hex. */
  innerChecksum: string;
  /** SHA-256(bytes), lowercase hex. */
  outerChecksum: string;
  metadataConfig: string;
  contentsTarGz: Buffer;
  /** Byte range [start, end) of the contents.tar.gz data inside `bytes`. */
  contentsRange: [number, number];
}

const TAR_MTIME = new Date(Date.UTC(2000, 0, 1)); // hex_core: {{2000,1,1},{0,0,0}}

async function packTar(files: { name: string; data: Buffer; mode?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const file of files) {
    pack.entry(
      { name: file.name, size: file.data.length, mode: file.mode ?? 0o644, mtime: TAR_MTIME, uid: 0, gid: 0, uname: '', gname: '', type: 'file' },
      file.data,
    );
  }
  pack.finalize();
  return done;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------- Erlang text terms

type ErlText = { bin: string } | { atom: string } | { tuple: ErlText[] } | ErlText[];

const bin = (value: string): ErlText => ({ bin: value });
const atom = (value: string): ErlText => ({ atom: value });
const tuple = (...items: ErlText[]): ErlText => ({ tuple: items });

function erlString(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code === 10) out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\x{${code.toString(16)}}`;
    else out += ch;
  }
  return out;
}

function formatTerm(term: ErlText): string {
  if (Array.isArray(term)) return `[${term.map(formatTerm).join(',')}]`;
  if ('bin' in term) return /^[\x00-\x7f]*$/.test(term.bin) ? `<<"${erlString(term.bin)}">>` : `<<"${erlString(term.bin)}"/utf8>>`;
  if ('atom' in term) return /^[a-z][A-Za-z0-9_@]*$/.test(term.atom) ? term.atom : `'${term.atom.replace(/['\\]/g, '\\$&')}'`;
  return `{${term.tuple.map(formatTerm).join(',')}}`;
}

// ---------------------------------------------------------------- tarball

function appSrc(spec: PackageSpec, description: string): string {
  const deps = spec.deps ?? [];
  const apps = ['kernel', 'stdlib', ...deps.map((d) => d.app ?? d.name)];
  const optional = deps.filter((d) => d.optional).map((d) => d.app ?? d.name);
  return [
    `{application, ${spec.name},`,
    ` [{description, "${erlString(description)}"},`,
    `  {vsn, "${spec.version}"},`,
    `  {registered, []},`,
    `  {applications, [${apps.join(', ')}]},`,
    ...(optional.length ? [`  {optional_applications, [${optional.join(', ')}]},`] : []),
    `  {env, []},`,
    `  {modules, []},`,
    `  {licenses, ["Apache-2.0"]},`,
    `  {links, []}`,
    ` ]}.`,
    '',
  ].join('\n');
}

function erlModule(spec: PackageSpec, revision: number): string {
  const calls = (spec.deps ?? []).map((d) => {
    const mod = d.app ?? d.name;
    return d.optional ? `case code:ensure_loaded(${mod}) of {module, _} -> ${mod}:hello(); _ -> {${mod}, missing} end` : `${mod}:hello()`;
  });
  return [
    `-module(${spec.name}).`,
    `-export([hello/0]).`,
    ...(revision > 0 ? [`%% revision ${revision}`] : []),
    '',
    `%% Returns this package's name and version and those of its dependencies,`,
    `%% so that the dependency is real at compile and run time.`,
    `hello() ->`,
    `    {${spec.name}, <<"${spec.version}">>, [${calls.join(', ')}]}.`,
    '',
  ].join('\n');
}

function rebarConfig(spec: PackageSpec): string {
  const deps = (spec.deps ?? []).filter((d) => !d.optional).map((d) => `{${d.name}, "${erlString(d.requirement)}"}`);
  return `{erl_opts, [debug_info]}.\n{deps, [${deps.join(', ')}]}.\n`;
}

function metadataConfig(spec: PackageSpec, description: string, files: string[], repository: string): string {
  const requirements = (spec.deps ?? []).map((d) =>
    tuple(bin(d.name), [
      tuple(bin('app'), bin(d.app ?? d.name)),
      tuple(bin('optional'), atom(d.optional ? 'true' : 'false')),
      tuple(bin('requirement'), bin(d.requirement)),
      tuple(bin('repository'), bin(d.repository ?? repository)),
    ]),
  );
  // hex_core writes the metadata map's entries in key order, one `~p.~n` each.
  const entries: [string, ErlText][] = [
    ['app', bin(spec.name)],
    ['build_tools', [bin('rebar3')]],
    ['description', bin(description)],
    ['files', files.map(bin)],
    ['licenses', [bin('Apache-2.0')]],
    ['name', bin(spec.name)],
    ['requirements', requirements],
    ['version', bin(spec.version)],
  ];
  return entries.map(([key, value]) => `${formatTerm(tuple(bin(key), value))}.\n`).join('');
}

function checkSpec(spec: PackageSpec): void {
  if (!isPackageName(spec.name)) throw new Error(`fixture: invalid package name ${JSON.stringify(spec.name)}`);
  if (!isVersion(spec.version)) throw new Error(`fixture: invalid version ${JSON.stringify(spec.version)}`);
  for (const dep of spec.deps ?? []) {
    if (!isPackageName(dep.name)) throw new Error(`fixture: invalid dependency name ${JSON.stringify(dep.name)}`);
  }
}

export interface BuildTarballOptions {
  /** Repository written into metadata requirements (default "hexpm"). */
  repository?: string;
  /** A revision > 0 changes the contents (used by FixtureRepo.replace). */
  revision?: number;
  /** Fault cases: override the VERSION member or the declared CHECKSUM, or the member order. */
  formatVersion?: string;
  declaredChecksum?: string;
  memberOrder?: ('VERSION' | 'CHECKSUM' | 'metadata.config' | 'contents.tar.gz')[];
}

/**
 * Builds a real Hex package tarball v3 as hex_core does: an uncompressed ustar of
 * VERSION, CHECKSUM, metadata.config and contents.tar.gz (mtime 2000-01-01, uid/gid 0),
 * whose contents are a compilable rebar3 OTP library.
 */
export async function buildTarball(spec: PackageSpec, options: BuildTarballOptions = {}): Promise<BuiltTarball> {
  checkSpec(spec);
  const repository = options.repository ?? 'hexpm';
  const description = spec.description ?? `Test fixture package ${spec.name}`;
  const files: { name: string; data: Buffer }[] = [
    { name: `src/${spec.name}.app.src`, data: Buffer.from(appSrc(spec, description)) },
    { name: `src/${spec.name}.erl`, data: Buffer.from(spec.erlangModuleSource ?? erlModule(spec, options.revision ?? 0)) },
    { name: 'rebar.config', data: Buffer.from(rebarConfig(spec)) },
  ];
  if (spec.erlangModuleSource !== undefined && (options.revision ?? 0) > 0) {
    files.push({ name: 'REVISION', data: Buffer.from(`${options.revision}\n`) });
  }
  const contentsTarGz = gzipSync(await packTar(files));
  const metadata = metadataConfig(
    spec,
    description,
    files.map((f) => f.name),
    repository,
  );
  const version = Buffer.from(options.formatVersion ?? '3');
  const metadataBytes = Buffer.from(metadata, 'utf8');
  const innerChecksum = createHash('sha256').update(version).update(metadataBytes).update(contentsTarGz).digest('hex');
  const members = {
    VERSION: version,
    CHECKSUM: Buffer.from(options.declaredChecksum ?? innerChecksum.toUpperCase()),
    'metadata.config': metadataBytes,
    'contents.tar.gz': contentsTarGz,
  };
  const order = options.memberOrder ?? (['VERSION', 'CHECKSUM', 'metadata.config', 'contents.tar.gz'] as const);
  const bytes = await packTar(order.map((name) => ({ name, data: members[name] })));
  // Locate contents.tar.gz's data: each member is a 512-byte header plus data padded to 512.
  let offset = 0;
  let contentsRange: [number, number] = [0, 0];
  for (const name of order) {
    const size = members[name].length;
    if (name === 'contents.tar.gz') contentsRange = [offset + 512, offset + 512 + size];
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return { bytes, innerChecksum, outerChecksum: sha256(bytes), metadataConfig: metadata, contentsTarGz, contentsRange };
}

/** A docs tarball as `mix hex.publish` uploads it: gzip(tar) with index.html at the root. */
export async function buildDocsTarball(name: string, version: string, html?: string): Promise<Buffer> {
  const index =
    html ??
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${name} v${version}</title></head>\n<body><h1>${name} v${version}</h1><p>API reference for ${name}.</p></body></html>\n`;
  return gzipSync(
    await packTar([
      { name: 'index.html', data: Buffer.from(index) },
      { name: '.build', data: Buffer.from('index.html\n') },
    ]),
  );
}

/** Reads back the members of a (docs or contents) tarball, gunzipping if needed. */
export async function listTar(body: Buffer): Promise<Map<string, Buffer>> {
  const raw = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
  const extract = tar.extract();
  const out = new Map<string, Buffer>();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(raw);
  await done;
  return out;
}

// ---------------------------------------------------------------- gzip(Signed) helpers

function varint(value: number): Buffer {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

/** RSASSA-PKCS1-v1_5 / SHA-512 over the raw payload, as hex_core signs registry records. */
export function signPayload(payload: Uint8Array, privateKeyPem: string): Buffer {
  return createSign('sha512').update(payload).sign(privateKeyPem);
}

/** gzip(Signed{payload, signature?}), encoded by hand so that unsigned/tampered bodies can be built. */
export function packSigned(payload: Uint8Array, signature?: Uint8Array): Buffer {
  const parts = [Buffer.from([0x0a]), varint(payload.length), Buffer.from(payload)];
  if (signature) parts.push(Buffer.from([0x12]), varint(signature.length), Buffer.from(signature));
  return gzipSync(Buffer.concat(parts));
}

/** Inverse of packSigned (no verification). */
export function unpackSigned(body: Uint8Array): { payload: Buffer; signature?: Buffer } {
  const raw = gunzipSync(body);
  let pos = 0;
  const readVarint = () => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const byte = raw[pos++];
      if (byte === undefined) throw new Error('truncated varint');
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
  };
  const out: { payload?: Buffer; signature?: Buffer } = {};
  while (pos < raw.length) {
    const tag = readVarint();
    if ((tag & 7) !== 2) throw new Error(`unexpected wire type in Signed: ${tag & 7}`);
    const len = readVarint();
    const value = raw.subarray(pos, pos + len);
    pos += len;
    if (tag >>> 3 === 1) out.payload = Buffer.from(value);
    else if (tag >>> 3 === 2) out.signature = Buffer.from(value);
  }
  if (!out.payload) throw new Error('Signed has no payload');
  return out.signature ? { payload: out.payload, signature: out.signature } : { payload: out.payload };
}

// ---------------------------------------------------------------- Erlang external term format

export type JsonLike = null | boolean | number | string | JsonLike[] | { [key: string]: JsonLike };

/**
 * term_to_binary for JSON-like values the way hexpm renders `application/vnd.hex+erlang`:
 * maps with binary keys, binaries for strings, atoms true/false/nil, integers, floats.
 */
export function encodeErlangTerm(value: JsonLike): Buffer {
  const parts: Buffer[] = [Buffer.from([131])];
  const atomExt = (name: string) => {
    const b = Buffer.from(name, 'utf8');
    parts.push(Buffer.from([119, b.length]), b);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const walk = (v: JsonLike): void => {
    if (v === null) atomExt('nil');
    else if (v === true) atomExt('true');
    else if (v === false) atomExt('false');
    else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      parts.push(Buffer.from([109]), u32(b.length), b);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v <= 255) parts.push(Buffer.from([97, v]));
      else if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
        const b = Buffer.alloc(5);
        b[0] = 98;
        b.writeInt32BE(v, 1);
        parts.push(b);
      } else if (Number.isSafeInteger(v)) {
        let n = BigInt(Math.abs(v));
        const digits: number[] = [];
        while (n > 0n) {
          digits.push(Number(n & 0xffn));
          n >>= 8n;
        }
        parts.push(Buffer.from([110, digits.length, v < 0 ? 1 : 0, ...digits]));
      } else {
        const b = Buffer.alloc(9);
        b[0] = 70;
        b.writeDoubleBE(v, 1);
        parts.push(b);
      }
    } else if (Array.isArray(v)) {
      if (v.length === 0) parts.push(Buffer.from([106]));
      else {
        parts.push(Buffer.from([108]), u32(v.length));
        v.forEach(walk);
        parts.push(Buffer.from([106]));
      }
    } else {
      const entries = Object.entries(v);
      parts.push(Buffer.from([116]), u32(entries.length));
      for (const [k, item] of entries) {
        walk(k);
        walk(item);
      }
    }
  };
  walk(value);
  return Buffer.concat(parts);
}

/**
 * binary_to_term for what encodeErlangTerm writes and hexpm sends (maps, binaries, lists,
 * integers, floats, atoms; nil → null), written from the format's description rather than
 * from the mirror's encoder, so a test can read what the mirror sends.
 */
export function decodeErlangTerm(body: Buffer): JsonLike {
  let pos = 0;
  const byte = () => {
    if (pos >= body.length) throw new Error('term truncated');
    return body[pos++]!;
  };
  const take = (n: number) => {
    if (pos + n > body.length) throw new Error('term truncated');
    const out = body.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u32 = () => take(4).readUInt32BE(0);
  const atom = (name: string): JsonLike => {
    if (name === 'nil') return null;
    if (name === 'true') return true;
    if (name === 'false') return false;
    throw new Error(`unexpected atom ${name}`);
  };
  const read = (): JsonLike => {
    const tag = byte();
    switch (tag) {
      case 97:
        return byte();
      case 98:
        return take(4).readInt32BE(0);
      case 70:
        return take(8).readDoubleBE(0);
      case 110: {
        const n = byte();
        const sign = byte();
        let value = 0n;
        for (const [i, d] of [...take(n)].entries()) value += BigInt(d) << BigInt(8 * i);
        return Number(sign ? -value : value);
      }
      case 100:
      case 118:
        return atom(take(take(2).readUInt16BE(0)).toString('utf8'));
      case 115:
      case 119:
        return atom(take(byte()).toString('utf8'));
      case 109:
        return take(u32()).toString('utf8');
      case 106:
        return [];
      case 108: {
        const items = Array.from({ length: u32() }, read);
        if (byte() !== 106) throw new Error('improper list');
        return items;
      }
      case 116: {
        const out: Record<string, JsonLike> = {};
        const n = u32();
        for (let i = 0; i < n; i++) {
          const key = read();
          if (typeof key !== 'string') throw new Error('map key is not a binary');
          out[key] = read();
        }
        return out;
      }
      default:
        throw new Error(`unsupported term tag ${tag}`);
    }
  };
  if (byte() !== 131) throw new Error('not an external term (no version byte 131)');
  const value = read();
  if (pos !== body.length) throw new Error('bytes after the term');
  return value;
}

// ---------------------------------------------------------------- the repository

export type RetirementReason = 'other' | 'invalid' | 'security' | 'deprecated' | 'renamed';

export interface Retirement {
  reason: RetirementReason;
  message?: string;
}

export interface PublishOptions {
  retired?: Retirement;
  /** Unix seconds; default: a deterministic clock starting at 2023-11-14. */
  publishedAt?: number;
  /** Publish docs too (default true). */
  docs?: boolean;
}

export interface FixtureRelease {
  name: string;
  version: string;
  spec: PackageSpec;
  deps: DepSpec[];
  /** The tarball bytes (what /tarballs/NAME-VERSION.tar serves). */
  bytes: Buffer;
  innerChecksum: string;
  outerChecksum: string;
  tarball: BuiltTarball;
  retired?: Retirement;
  publishedAt: number;
  /** 0 for the first publication, +1 per replace(). */
  revision: number;
  /** gzip(tar) docs body, when published. */
  docs?: Buffer;
}

export interface BodyOptions {
  /** Sign with this private key instead of the repository's (e.g. otherKeys().privateKeyPem). */
  privateKeyPem?: string;
  /** Leave the Signed.signature field out. */
  unsigned?: boolean;
  /** Put another repository name into the record (the origin check fault). */
  repository?: string;
}

export interface PackageBodyOptions extends BodyOptions {
  /** Put another package name into the record (the "served under the wrong path" fault). */
  recordName?: string;
}

export interface FixtureRepoOptions {
  /** Repository name written into every record (default "hexpm"). */
  repository?: string;
  /** Signing key (default testKeys().privateKeyPem); the public key is derived from it. */
  privateKeyPem?: string;
}

const BASE_TIME = 1_700_000_000;

export class FixtureRepo {
  readonly repository: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  private readonly store = new Map<string, Map<string, FixtureRelease>>();
  private clock = BASE_TIME;
  /**
   * Signed bodies by what they sign: repo.hex.pm serves its registry as signed static files,
   * so a client's request costs it no RSA signature; signing per request (1.5-5 ms) would put
   * that cost on every upstream answer the benchmark and the timing-sensitive tests measure.
   * Keyed by the payload and the key, so any change to the repository signs anew.
   */
  private readonly signedBodies = new Map<string, Buffer>();

  constructor(options: FixtureRepoOptions = {}) {
    this.repository = options.repository ?? 'hexpm';
    this.privateKeyPem = options.privateKeyPem ?? testKeys().privateKeyPem;
    this.publicKeyPem = options.privateKeyPem
      ? createPublicKey(options.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString()
      : testKeys().publicKeyPem;
  }

  private nextTime(): number {
    this.clock += 3600;
    return this.clock;
  }

  private async build(spec: PackageSpec, revision: number, opts: PublishOptions, previous?: FixtureRelease): Promise<FixtureRelease> {
    const tarball = await buildTarball(spec, { repository: this.repository, revision });
    const wantDocs = opts.docs ?? (previous ? previous.docs !== undefined : true);
    const docs = wantDocs ? (previous?.docs ?? (await buildDocsTarball(spec.name, spec.version))) : undefined;
    const retired = opts.retired ?? previous?.retired;
    return {
      name: spec.name,
      version: spec.version,
      spec,
      deps: spec.deps ?? [],
      bytes: tarball.bytes,
      innerChecksum: tarball.innerChecksum,
      outerChecksum: tarball.outerChecksum,
      tarball,
      ...(retired ? { retired } : {}),
      publishedAt: opts.publishedAt ?? previous?.publishedAt ?? this.nextTime(),
      revision,
      ...(docs ? { docs } : {}),
    };
  }

  /** Adds a new release (throws if the version already exists; use replace()). */
  async publish(spec: PackageSpec, opts: PublishOptions = {}): Promise<FixtureRelease> {
    if (this.release(spec.name, spec.version)) throw new Error(`fixture: ${spec.name} ${spec.version} already published`);
    const release = await this.build(spec, 0, opts);
    let versions = this.store.get(spec.name);
    if (!versions) this.store.set(spec.name, (versions = new Map()));
    versions.set(spec.version, release);
    return release;
  }

  /** Re-publishes an existing version with different tarball bytes (`mix hex.publish --replace`). */
  async replace(spec: PackageSpec, opts: PublishOptions = {}): Promise<FixtureRelease> {
    const previous = this.release(spec.name, spec.version);
    if (!previous) throw new Error(`fixture: ${spec.name} ${spec.version} is not published`);
    const release = await this.build(spec, previous.revision + 1, opts, previous);
    this.store.get(spec.name)!.set(spec.version, release);
    return release;
  }

  /** Sets or clears (undefined) the retirement status of a release. */
  retire(name: string, version: string, retired: Retirement | undefined): void {
    const release = this.release(name, version);
    if (!release) throw new Error(`fixture: ${name} ${version} is not published`);
    if (retired) release.retired = retired;
    else delete release.retired;
  }

  /** Deletes a release (`mix hex.publish --revert`); the package disappears with its last release. */
  revert(name: string, version: string): void {
    const versions = this.store.get(name);
    if (!versions?.delete(version)) throw new Error(`fixture: ${name} ${version} is not published`);
    if (versions.size === 0) this.store.delete(name);
  }

  /** Publishes (or re-publishes, with new bytes) the docs of a release. */
  async publishDocs(name: string, version: string, html?: string): Promise<Buffer> {
    const release = this.release(name, version);
    if (!release) throw new Error(`fixture: ${name} ${version} is not published`);
    release.docs = await buildDocsTarball(name, version, html);
    return release.docs;
  }

  /** The gzipped docs tarball of a release, or undefined when there are none. */
  docs(name: string, version: string): Buffer | undefined {
    return this.release(name, version)?.docs;
  }

  release(name: string, version: string): FixtureRelease | undefined {
    return this.store.get(name)?.get(version);
  }

  /** Releases of a package in SemVer order (empty when unknown). */
  releases(name: string): FixtureRelease[] {
    return [...(this.store.get(name)?.values() ?? [])].sort((a, b) => compareVersions(a.version, b.version));
  }

  /** Package names, sorted. */
  packages(): string[] {
    return [...this.store.keys()].sort();
  }

  tarball(name: string, version: string): Buffer | undefined {
    return this.release(name, version)?.bytes;
  }

  // ---- records (plain objects) and bodies (gzip(Signed(...)))

  packageRecord(name: string, opts: PackageBodyOptions = {}): PackageRecord | undefined {
    const releases = this.releases(name);
    if (releases.length === 0) return undefined;
    return {
      name: opts.recordName ?? name,
      repository: opts.repository ?? this.repository,
      releases: releases.map((r) => ({
        version: r.version,
        innerChecksum: r.innerChecksum,
        outerChecksum: r.outerChecksum,
        dependencies: r.deps.map((d) => ({
          package: d.name,
          requirement: d.requirement,
          optional: d.optional ?? false,
          app: d.app ?? d.name,
          ...(d.repository && d.repository !== this.repository ? { repository: d.repository } : {}),
        })),
        ...(r.retired ? { retired: { reason: r.retired.reason, ...(r.retired.message ? { message: r.retired.message } : {}) } } : {}),
        publishedAt: r.publishedAt,
      })),
    };
  }

  namesRecord(opts: BodyOptions = {}): NamesRecord {
    return {
      repository: opts.repository ?? this.repository,
      packages: this.packages().map((name) => ({
        name,
        updatedAt: Math.max(...this.releases(name).map((r) => r.publishedAt)),
      })),
    };
  }

  versionsRecord(opts: BodyOptions = {}): VersionsRecord {
    return {
      repository: opts.repository ?? this.repository,
      packages: this.packages().map((name) => {
        const releases = this.releases(name);
        return {
          name,
          versions: releases.map((r) => r.version),
          retired: releases.flatMap((r, i) => (r.retired ? [i] : [])),
        };
      }),
    };
  }

  /** gzip(Signed(payload)) signed per `opts` (default: the repository key). */
  pack(payload: Uint8Array, opts: BodyOptions = {}): Buffer {
    if (opts.unsigned) return packSigned(payload);
    const privateKeyPem = opts.privateKeyPem ?? this.privateKeyPem;
    const id = createHash('sha256').update(payload).update(privateKeyPem).digest('hex');
    let body = this.signedBodies.get(id);
    if (!body) {
      body = packSigned(payload, signPayload(payload, privateKeyPem));
      if (this.signedBodies.size >= 20_000) this.signedBodies.delete(this.signedBodies.keys().next().value!);
      this.signedBodies.set(id, body);
    }
    // A copy: a test may damage what it is given.
    return Buffer.from(body);
  }

  namesBody(opts: BodyOptions = {}): Buffer {
    return this.pack(encodeNames(this.namesRecord(opts)), opts);
  }

  versionsBody(opts: BodyOptions = {}): Buffer {
    return this.pack(encodeVersions(this.versionsRecord(opts)), opts);
  }

  /** The /packages/NAME body, or undefined when the package does not exist. */
  packageBody(name: string, opts: PackageBodyOptions = {}): Buffer | undefined {
    const record = this.packageRecord(name, opts);
    return record ? this.pack(encodePackage(record), opts) : undefined;
  }

  // ---- hex.pm HTTP API documents (protocol doc §4.4)

  apiPackageJson(name: string, base = { api: 'https://hex.pm/api', repo: 'https://repo.hex.pm' }): Record<string, JsonLike> | undefined {
    const releases = this.releases(name);
    const latest = releases[releases.length - 1];
    if (!latest) return undefined;
    const stable = [...releases].reverse().find((r) => !r.version.includes('-')) ?? latest;
    const first = releases.reduce((a, b) => (a.publishedAt <= b.publishedAt ? a : b));
    const iso = (s: number) => new Date(s * 1000).toISOString();
    const retirements: Record<string, JsonLike> = {};
    for (const r of releases) if (r.retired) retirements[r.version] = { reason: r.retired.reason, message: r.retired.message ?? null };
    return {
      name,
      repository: this.repository,
      url: `${base.api}/packages/${name}`,
      html_url: `https://hex.pm/packages/${name}`,
      docs_html_url: `https://hexdocs.pm/${name}/`,
      latest_version: latest.version,
      latest_stable_version: stable.version,
      meta: {
        description: latest.spec.description ?? `Test fixture package ${name}`,
        licenses: ['Apache-2.0'],
        links: { GitHub: `https://github.com/example/${name}` },
        maintainers: [],
      },
      releases: [...releases].reverse().map((r) => ({
        version: r.version,
        url: `${base.api}/packages/${name}/releases/${r.version}`,
        has_docs: r.docs !== undefined,
        inserted_at: iso(r.publishedAt),
      })),
      retirements,
      downloads: { all: 1000 * releases.length, recent: 10, week: 5, day: 1 },
      owners: [{ username: 'fixture', email: 'fixture@example.com', url: `${base.api}/users/fixture` }],
      configs: {
        'mix.exs': `{:${name}, "~> ${latest.version}"}`,
        'rebar.config': `{${name}, "${latest.version}"}`,
        'erlang.mk': `dep_${name} = hex ${latest.version}`,
      },
      security_advisories: [],
      inserted_at: iso(first.publishedAt),
      updated_at: iso(Math.max(...releases.map((r) => r.publishedAt))),
    };
  }

  apiReleaseJson(name: string, version: string, base = { api: 'https://hex.pm/api', repo: 'https://repo.hex.pm' }): Record<string, JsonLike> | undefined {
    const r = this.release(name, version);
    if (!r) return undefined;
    const iso = (s: number) => new Date(s * 1000).toISOString();
    const requirements: Record<string, JsonLike> = {};
    for (const d of r.deps) requirements[d.name] = { app: d.app ?? d.name, requirement: d.requirement, optional: d.optional ?? false };
    return {
      version,
      url: `${base.api}/packages/${name}/releases/${version}`,
      package_url: `${base.api}/packages/${name}`,
      html_url: `https://hex.pm/packages/${name}/${version}`,
      docs_html_url: `https://hexdocs.pm/${name}/${version}/`,
      checksum: r.outerChecksum,
      has_docs: r.docs !== undefined,
      requirements,
      meta: { app: name, build_tools: ['rebar3'], elixir: null },
      retirement: r.retired ? { reason: r.retired.reason, message: r.retired.message ?? null } : null,
      publisher: { username: 'fixture', email: 'fixture@example.com', url: `${base.api}/users/fixture` },
      downloads: 1000,
      configs: {
        'mix.exs': `{:${name}, "~> ${version}"}`,
        'rebar.config': `{${name}, "${version}"}`,
        'erlang.mk': `dep_${name} = hex ${version}`,
      },
      inserted_at: iso(r.publishedAt),
      updated_at: iso(r.publishedAt),
    };
  }
}
