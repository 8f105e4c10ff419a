// Types for electron-binary.mjs, so the TypeScript tests can use it.
export type ElectronBinary = { ok: true; path: string } | { ok: false; reason: string };

export function findElectron(options?: { require?: (id: string) => unknown; exists?: (path: string) => boolean }): ElectronBinary;

export function displayProblem(options?: { env?: Record<string, string | undefined>; platform?: string }): string | undefined;
