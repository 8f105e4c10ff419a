#!/usr/bin/env node
// Part of `npm run build`: the `hexhub` command as one ES module (dist/cli/hexhub.mjs), bundled
// from tsc's output. Start-up is most of what `hexhub serve` costs before it answers, and about
// half of it was Node resolving, reading and compiling ~600 module files one by one; one file
// starts in about half the time. The desktop app keeps loading dist/src-main/ as tsc wrote it.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src-main/cli/hexhub.js'],
  outfile: 'dist/cli/hexhub.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Loaded only with S3 storage (store/s3-storage.ts imports them when it opens), and large.
  external: ['@aws-sdk/*', '@smithy/*'],
  // The CommonJS dependencies (fastify, pino, protobufjs…) call require() for Node's own
  // modules, and generated validators require() ajv's runtime: an ES module has no require.
  banner: { js: "import { createRequire as hexhubCreateRequire } from 'node:module';\nconst require = hexhubCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
