// `node --import ./test/support/fake-electron/register.mjs main.js`: runs the desktop main
// process under plain Node with the `electron` module replaced by ./electron.mjs. Only the
// Electron module is replaced (there is no Electron binary here); everything main.js does
// with it is recorded for the test.
import { register } from 'node:module';

register(new URL('./loader.mjs', import.meta.url));
