// `npm run lint`: the architecture's rules, checked on every change (npm test runs it). The
// layer table is the one in ARCHITECTURE.md: each layer may import only those below it, and
// only the desktop shell may import electron. Formatting is prettier's (`prettier --check`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import layering from './eslint-rules/layering.js';

const root = path.dirname(fileURLToPath(import.meta.url));

const below = {
  shared: [],
  core: ['shared'],
  hex: ['core', 'shared'],
  config: ['hex', 'core', 'shared'],
  store: ['config', 'hex', 'core', 'shared'],
  upstream: ['config', 'core', 'shared'],
  setup: ['config', 'core', 'shared'],
  mirror: ['upstream', 'store', 'config', 'hex', 'core', 'shared'],
  prewarm: ['mirror', 'upstream', 'store', 'config', 'hex', 'core', 'shared'],
  control: ['prewarm', 'mirror', 'upstream', 'store', 'setup', 'config', 'hex', 'core', 'shared'],
  server: ['control', 'prewarm', 'mirror', 'upstream', 'store', 'setup', 'config', 'hex', 'core', 'shared'],
  engine: ['server', 'control', 'prewarm', 'mirror', 'upstream', 'store', 'setup', 'config', 'hex', 'core', 'shared'],
  cli: ['engine', 'server', 'control', 'prewarm', 'mirror', 'upstream', 'store', 'setup', 'config', 'hex', 'core', 'shared'],
  desktop: ['engine', 'server', 'control', 'prewarm', 'mirror', 'upstream', 'store', 'setup', 'config', 'hex', 'core', 'shared'],
  renderer: ['shared'],
};

/** Folders (or files) of each layer. */
const paths = {
  shared: ['src-shared'],
  core: ['src-main/core', 'src-main/version.ts'],
  hex: ['src-main/hex'],
  config: ['src-main/config'],
  store: ['src-main/store'],
  upstream: ['src-main/upstream'],
  setup: ['src-main/setup'],
  mirror: ['src-main/mirror'],
  prewarm: ['src-main/prewarm'],
  control: ['src-main/control'],
  server: ['src-main/server'],
  engine: ['src-main/engine', 'src-main/engine.ts'],
  cli: ['src-main/cli'],
  desktop: ['src-main/desktop'],
  renderer: ['src-renderer'],
};

export const layers = Object.entries(paths).flatMap(([name, folders]) => folders.map((p) => ({ name, path: p, mayImport: below[name] })));

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-results/**', 'bench/results/**', 'build/**'] },
  {
    files: ['src-main/**/*.{ts,cts}', 'src-shared/**/*.ts', 'src-renderer/**/*.{ts,tsx}'],
    languageOptions: { parser: tseslint.parser },
    plugins: { local: { rules: { layering } } },
    rules: {
      'local/layering': ['error', { root, layers, reserved: { electron: ['desktop'] } }],
    },
  },
  {
    // Long functions are where behaviour hides: split them into named steps.
    files: ['src-main/**/*.{ts,cts}'],
    rules: { 'max-lines-per-function': ['error', { max: 120 }] },
  },
);
