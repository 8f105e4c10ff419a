// The main-process side of the IPC contract (src-shared/ipc-contract.ts). Every handler first
// checks who is asking: the frame that sent the message must be on the dashboard's own
// origin. A page that got into the window some other way (a file:// URL, another site after a
// bug in the navigation policy) must not read the token or drive the app.
import { messageOf } from '../../src-shared/problems.js';
import type { DesktopConnection, IpcInvokeCalls, IpcInvokeChannel, IpcSyncCalls, IpcSyncChannel, IpcSyncReply } from '../../src-shared/ipc-contract.js';
import { IPC_CHANNELS } from '../../src-shared/ipc-contract.js';
import { webUrl } from './navigation-policy.js';

/** What the sender check reads from an IPC event (Electron's IpcMainEvent and IpcMainInvokeEvent have it). */
export interface IpcEventLike {
  /** null once the frame has navigated away or is gone. */
  readonly senderFrame: { readonly url: string } | null;
}

export interface IpcSyncEventLike extends IpcEventLike {
  returnValue: unknown;
}

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  on(channel: string, listener: (event: IpcSyncEventLike, ...args: unknown[]) => void): unknown;
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
}

export class IpcSenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcSenderError';
  }
}

/** Throws unless the sending frame is on `dashboardOrigin` (file:// and opaque origins never are). */
export function checkSender(event: IpcEventLike, dashboardOrigin: string): void {
  let url: string | undefined;
  try {
    // Reading a destroyed frame's URL throws in Electron; that counts as no sender.
    url = event.senderFrame?.url;
  } catch {
    url = undefined;
  }
  if (!url) throw new IpcSenderError('IPC refused: the sending frame is gone');
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new IpcSenderError('IPC refused: the sender has no valid URL');
  }
  if (origin === 'null' || origin !== dashboardOrigin) throw new IpcSenderError(`IPC refused: ${origin} is not the dashboard (${dashboardOrigin})`);
}

type SyncHandlers = { [C in IpcSyncChannel]: (...args: IpcSyncCalls[C]['args']) => IpcSyncCalls[C]['result'] };
type InvokeHandlers = { [C in IpcInvokeChannel]: (...args: IpcInvokeCalls[C]['args']) => Promise<IpcInvokeCalls[C]['result']> };

export interface IpcDeps {
  /** The dashboard's origin, e.g. http://127.0.0.1:4000. */
  dashboardOrigin: string;
  connection(): DesktopConnection;
  /** Opens a URL in the user's browser (shell.openExternal). */
  openExternal(url: string): Promise<void>;
}

/** The handlers per channel, sender checks not included (registerIpc adds them). */
export function ipcHandlers(deps: IpcDeps): { sync: SyncHandlers; invoke: InvokeHandlers } {
  return {
    sync: {
      [IPC_CHANNELS.connection]: () => deps.connection(),
    },
    invoke: {
      // The URL comes from the page: only absolute http(s) URLs leave the app.
      [IPC_CHANNELS.openExternal]: async (url: unknown) => {
        const target = webUrl(url);
        if (!target) throw new Error('only http:// and https:// URLs can be opened');
        await deps.openExternal(target);
      },
    },
  };
}

/** Registers every channel of the contract on ipcMain, each behind the sender check. */
export function registerIpc(ipcMain: IpcMainLike, deps: IpcDeps): void {
  const handlers = ipcHandlers(deps);
  for (const [channel, handler] of Object.entries(handlers.sync) as [IpcSyncChannel, (...args: unknown[]) => unknown][]) {
    ipcMain.on(channel, (event, ...args) => {
      let reply: IpcSyncReply<unknown>;
      try {
        checkSender(event, deps.dashboardOrigin);
        reply = { ok: true, value: handler(...args) };
      } catch (error) {
        reply = { ok: false, error: messageOf(error) };
      }
      // Always answer: a sendSync left without a returnValue would block the page.
      event.returnValue = reply;
    });
  }
  for (const [channel, handler] of Object.entries(handlers.invoke) as [IpcInvokeChannel, (...args: unknown[]) => Promise<unknown>][]) {
    ipcMain.handle(channel, (event, ...args) => {
      checkSender(event, deps.dashboardOrigin);
      return handler(...args);
    });
  }
}
