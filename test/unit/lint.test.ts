// The layer table is enforced, not only written down: ESLint (eslint.config.js, the local
// layering rule) refuses an upward import, electron outside the desktop shell and an overlong
// function, with a message naming the rule; and the tree as it is passes.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function problems(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${filePath}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('npm run lint', () => {
  it('refuses an import that points up the layer table, naming the rule and the table', async () => {
    expect(await problems("import { createHttpApp } from '../server/http-app.js';\nexport const x = createHttpApp;\n", 'src-main/hex/wrong.ts')).toEqual([
      'local/layering: hex may not import server (hex may import: core, shared). See ARCHITECTURE.md, "Layers".',
    ]);
    expect(await problems("import { createEngine } from '../engine.js';\nexport const x = createEngine;\n", 'src-main/mirror/wrong.ts')).toEqual([
      expect.stringMatching(/^local\/layering: mirror may not import engine/),
    ]);
    expect(await problems("import { api } from '../src-renderer/api';\nexport const x = api;\n", 'src-shared/wrong.ts')).toEqual([
      expect.stringMatching(/^local\/layering: shared may not import renderer \(shared may import: nothing else\)/),
    ]);
    // Downward and sideways within a layer are fine.
    expect(
      await problems(
        "import { Problem } from '../core/problem.js';\nimport { keys } from './keys.js';\nexport const x = [Problem, keys];\n",
        'src-main/store/right.ts',
      ),
    ).toEqual([]);
  });

  it('keeps electron in the desktop shell', async () => {
    const code = "import { app } from 'electron';\nexport const x = app;\n";
    expect(await problems(code, 'src-main/mirror/wrong.ts')).toEqual([
      `local/layering: 'electron' may only be imported under desktop. See ARCHITECTURE.md, "Layers".`,
    ]);
    expect(await problems(code, 'src-main/desktop/right.ts')).toEqual([]);
  });

  it('refuses a function over 120 lines in src-main', async () => {
    const body = Array.from({ length: 121 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    expect(await problems(`export function long(): void {\n${body}\n}\n`, 'src-main/core/long.ts')).toEqual([
      expect.stringMatching(/^max-lines-per-function: /),
    ]);
  });

  it('passes on the tree as it is', async () => {
    const results = await eslint.lintFiles(['src-main', 'src-shared', 'src-renderer']);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`))).toEqual([]);
  });
});
