// The one IPC contract between the desktop app's main process and its preload script. Both
// sides are typed from here, so renaming a channel or changing a payload is a type error on
// both. It is small on purpose: the dashboard reaches the engine over the HTTP control API,
// as it does in a browser, so IPC carries only what a page cannot get for itself. Nothing
// here needs Node or a browser.

/** Channel names (the values the main process registers). */
export const IPC_CHANNELS = {
  connection: 'hexhub:connection',
  openExternal: 'hexhub:open-external',
} as const satisfies Record<string, IpcSyncChannel | IpcInvokeChannel>;

/** Where the dashboard's engine is and the token its control API wants. */
export interface DesktopConnection {
  /** The engine's base URL, e.g. http://127.0.0.1:4000 (the page's own origin). */
  baseUrl: string;
  token: string;
}

/**
 * Calls answered synchronously (ipcRenderer.sendSync / event.returnValue). Only the
 * connection: the page reads its token before its first render, and the preload has to
 * have it by then.
 */
export interface IpcSyncCalls {
  'hexhub:connection': { args: []; result: DesktopConnection };
}

/** Calls answered asynchronously (ipcRenderer.invoke / ipcMain.handle). */
export interface IpcInvokeCalls {
  /** Opens an http(s) URL in the user's browser; anything else is refused. */
  'hexhub:open-external': { args: [url: string]; result: void };
}

export type IpcSyncChannel = keyof IpcSyncCalls;
export type IpcInvokeChannel = keyof IpcInvokeCalls;

/** A synchronous reply: sendSync cannot carry a thrown error, so failures travel as values. */
export type IpcSyncReply<T> = { ok: true; value: T } | { ok: false; error: string };

/** The global name the preload exposes the bridge under: `window.hexhub`. */
export const BRIDGE_NAME = 'hexhub';

/**
 * Everything the preload exposes to the page, and nothing else. The renderer types
 * `window.hexhub` as `HexhubBridge | undefined` (undefined in a plain browser).
 */
export interface HexhubBridge {
  /** Always true: lets the page tell the desktop app from a browser. */
  readonly desktop: true;
  readonly baseUrl: string;
  readonly token: string;
  openExternal(url: string): Promise<void>;
}
