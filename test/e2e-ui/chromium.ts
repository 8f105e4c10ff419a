// Debian's Chromium (apt-get install chromium), started the way this machine allows: no
// sandbox (root), no GPU, and none of the background connections a closed network refuses.
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export const hasChromium = existsSync(CHROMIUM_PATH);

export const chromiumMissing = `${CHROMIUM_PATH} is not installed (apt-get install chromium)`;
