// The preload, compiled from its source as tsc does and run the way Electron runs a sandboxed
// preload: one CommonJS function whose require() knows only 'electron'. Electron's
// contextBridge and ipcRenderer are replaced by fakes; the script is the real one.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { IPC_CHANNELS, type HexhubBridge, type IpcSyncReply } from '../../../src-shared/ipc-contract.js';

const SOURCE = new URL('../../../src-main/desktop/preload.cts', import.meta.url);

function compiled(): string {
  const tsconfig = ts.readConfigFile(new URL('../../../tsconfig.main.json', import.meta.url).pathname, ts.sys.readFile);
  const options = ts.parseJsonConfigFileContent(tsconfig.config, ts.sys, new URL('../../../', import.meta.url).pathname).options;
  return ts.transpileModule(readFileSync(SOURCE, 'utf8'), { compilerOptions: options, fileName: SOURCE.pathname }).outputText;
}

function runPreload(reply: IpcSyncReply<unknown> | undefined) {
  const exposed = new Map<string, unknown>();
  const calls: { kind: 'sendSync' | 'invoke'; channel: string; args: unknown[] }[] = [];
  const required: string[] = [];
  const errors: string[] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.set(name, api) },
    ipcRenderer: {
      sendSync: (channel: string, ...args: unknown[]) => (calls.push({ kind: 'sendSync', channel, args }), reply),
      invoke: async (channel: string, ...args: unknown[]) => (calls.push({ kind: 'invoke', channel, args }), undefined),
    },
  };
  // Like Electron's sandboxed preload require: built-in modules only; here, only electron.
  const sandboxRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`module not found: ${id}`);
  };
  const wrapper = `(function (require, process, exports, module) {\n${compiled()}\n})`;
  const fn = runInNewContext(wrapper, { console: { error: (m: string) => errors.push(m) } }) as (...args: unknown[]) => void;
  const exportsObject = {};
  fn(sandboxRequire, {}, exportsObject, { exports: exportsObject });
  return { exposed, calls, required, errors };
}

describe('preload', () => {
  it('compiles to CommonJS that requires nothing but electron', () => {
    const code = compiled();
    const requires = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(requires).toEqual(['electron']);
    expect(code).not.toMatch(/^\s*import\s/m);
  });

  it('exposes only the contract as window.hexhub, with the connection asked for synchronously', async () => {
    const { exposed, calls, required } = runPreload({ ok: true, value: { baseUrl: 'http://127.0.0.1:4000', token: 'tok' } });
    expect(required).toEqual(['electron']);
    expect([...exposed.keys()]).toEqual(['hexhub']);
    const bridge = exposed.get('hexhub') as HexhubBridge;
    expect(Object.keys(bridge).sort()).toEqual(['baseUrl', 'desktop', 'openExternal', 'token']);
    expect(bridge).toMatchObject({ desktop: true, baseUrl: 'http://127.0.0.1:4000', token: 'tok' });
    expect(calls).toEqual([{ kind: 'sendSync', channel: IPC_CHANNELS.connection, args: [] }]);

    await bridge.openExternal('https://hexdocs.pm/jason');
    expect(calls[1]).toEqual({ kind: 'invoke', channel: IPC_CHANNELS.openExternal, args: ['https://hexdocs.pm/jason'] });
  });

  it('exposes nothing when the main process refuses (the page is not the dashboard)', () => {
    const { exposed, errors } = runPreload({ ok: false, error: 'IPC refused: file:// is not the dashboard' });
    expect(exposed.size).toBe(0);
    expect(errors.join('\n')).toContain('IPC refused');
  });

  it('exposes nothing when there is no answer', () => {
    expect(runPreload(undefined).exposed.size).toBe(0);
  });
});
