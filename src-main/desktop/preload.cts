// The preload script: the only code with Electron's renderer API, run before the dashboard
// in the window's isolated world. It exposes exactly the IPC contract as `window.hexhub` and
// nothing of Electron itself (no ipcRenderer, no generic send), as the security checklist asks.
//
// Why a .cts file: a sandboxed preload is not loaded by Node's module loader. Electron runs it
// as one CommonJS-style script whose require() knows only a few built-in modules ('electron',
// 'events', 'timers', 'url'), so it must be CommonJS and self-contained. The package is
// "type": "module", so tsc (the same tsconfig.main.json) compiles this .cts file to
// dist/src-main/desktop/preload.cjs. It imports only types from the shared contract, which
// compile away; its channel names are string literals that the compiler checks against that
// contract, so they cannot drift from what the main process registers.
import { contextBridge, ipcRenderer } from 'electron';
import type {
  BRIDGE_NAME as BridgeName,
  DesktopConnection,
  HexhubBridge,
  IpcInvokeCalls,
  IpcInvokeChannel,
  IpcSyncCalls,
  IpcSyncChannel,
  IpcSyncReply,
} from '../../src-shared/ipc-contract.js';

function callSync<C extends IpcSyncChannel>(channel: C, ...args: IpcSyncCalls[C]['args']): IpcSyncCalls[C]['result'] {
  const reply = ipcRenderer.sendSync(channel, ...args) as IpcSyncReply<IpcSyncCalls[C]['result']> | undefined;
  if (!reply) throw new Error(`${channel}: no answer from the main process`);
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

function invoke<C extends IpcInvokeChannel>(channel: C, ...args: IpcInvokeCalls[C]['args']): Promise<IpcInvokeCalls[C]['result']> {
  return ipcRenderer.invoke(channel, ...args) as Promise<IpcInvokeCalls[C]['result']>;
}

const bridgeName: typeof BridgeName = 'hexhub';

let connection: DesktopConnection | undefined;
try {
  // Synchronous on purpose: the page reads its token during its first script run.
  connection = callSync('hexhub:connection');
} catch (error) {
  // Refused (the page is not the dashboard) or no answer: expose nothing.
  console.error(`HexHub preload: ${(error as Error).message}`);
}

if (connection) {
  const bridge: HexhubBridge = {
    desktop: true,
    baseUrl: connection.baseUrl,
    token: connection.token,
    openExternal: (url: string) => invoke('hexhub:open-external', String(url)),
  };
  contextBridge.exposeInMainWorld(bridgeName, bridge);
}
