// The IPC contract's handlers and their sender check: the dashboard's origin is served, any
// other origin, file:// and a frame that is gone are refused. Electron's ipcMain is replaced by
// a fake (electron-fakes.ts) that calls the handlers as a renderer frame at a given URL would.
import { describe, expect, it } from 'vitest';
import { IPC_CHANNELS, type IpcSyncReply } from '../../../src-shared/ipc-contract.js';
import { checkSender, IpcSenderError, registerIpc } from '../../../src-main/desktop/ipc.js';
import { FakeIpcMain } from './electron-fakes.js';

const ORIGIN = 'http://127.0.0.1:4000';

function setup() {
  const ipcMain = new FakeIpcMain();
  const opened: string[] = [];
  let connections = 0;
  registerIpc(ipcMain, {
    dashboardOrigin: ORIGIN,
    connection: () => {
      connections++;
      return { baseUrl: ORIGIN, token: 'secret-token' };
    },
    openExternal: async (url) => {
      opened.push(url);
    },
  });
  return { ipcMain, opened, connections: () => connections };
}

describe('checkSender', () => {
  it('accepts frames on the dashboard origin', () => {
    expect(() => checkSender({ senderFrame: { url: 'http://127.0.0.1:4000/#/cache' } }, ORIGIN)).not.toThrow();
  });

  it.each([
    ['another origin', 'http://127.0.0.1:4001/'],
    ['the same port by another name', 'http://localhost:4000/'],
    ['https on the same host', 'https://127.0.0.1:4000/'],
    ['a file', 'file:///home/me/evil.html'],
    ['a data URL', 'data:text/html,hi'],
    ['about:blank', 'about:blank'],
  ])('refuses %s', (_name, url) => {
    expect(() => checkSender({ senderFrame: { url } }, ORIGIN)).toThrow(IpcSenderError);
  });

  it('refuses a frame that is gone', () => {
    expect(() => checkSender({ senderFrame: null }, ORIGIN)).toThrow(/gone/);
    const destroyed = {
      get senderFrame(): { url: string } {
        return {
          get url(): string {
            throw new Error('Render frame was disposed');
          },
        };
      },
    };
    expect(() => checkSender(destroyed, ORIGIN)).toThrow(IpcSenderError);
  });
});

describe('registerIpc', () => {
  it('registers exactly the channels of the contract', () => {
    const { ipcMain } = setup();
    const registered = [...ipcMain.listeners.keys(), ...ipcMain.handlers.keys()].sort();
    expect(registered).toEqual(Object.values(IPC_CHANNELS).sort());
  });

  it('gives the dashboard its connection', () => {
    const { ipcMain } = setup();
    expect(ipcMain.sendSync(IPC_CHANNELS.connection, 'http://127.0.0.1:4000/')).toEqual({ ok: true, value: { baseUrl: ORIGIN, token: 'secret-token' } });
  });

  it.each([
    ['another origin', 'http://evil.example/'],
    ['file://', 'file:///tmp/page.html'],
    ['a gone frame', null],
  ])('never gives the token to %s, and still answers', (_name, url) => {
    const { ipcMain, connections } = setup();
    const reply = ipcMain.sendSync(IPC_CHANNELS.connection, url) as IpcSyncReply<unknown>;
    expect(reply.ok).toBe(false);
    expect(JSON.stringify(reply)).not.toContain('secret-token');
    expect(connections()).toBe(0);
  });

  it('opens http(s) URLs from the dashboard in the browser', async () => {
    const { ipcMain, opened } = setup();
    await ipcMain.invoke(IPC_CHANNELS.openExternal, 'http://127.0.0.1:4000/', 'https://hexdocs.pm/jason');
    expect(opened).toEqual(['https://hexdocs.pm/jason']);
  });

  it('refuses other URLs and other senders', async () => {
    const { ipcMain, opened } = setup();
    await expect(ipcMain.invoke(IPC_CHANNELS.openExternal, 'http://127.0.0.1:4000/', 'file:///etc/passwd')).rejects.toThrow(/http/);
    await expect(ipcMain.invoke(IPC_CHANNELS.openExternal, 'http://127.0.0.1:4000/', { href: 'https://x' })).rejects.toThrow(/http/);
    await expect(ipcMain.invoke(IPC_CHANNELS.openExternal, 'https://evil.example/', 'https://hex.pm')).rejects.toThrow(IpcSenderError);
    await expect(ipcMain.invoke(IPC_CHANNELS.openExternal, 'file:///x.html', 'https://hex.pm')).rejects.toThrow(IpcSenderError);
    expect(opened).toEqual([]);
  });
});
