// The one place that turns the listening socket's address into the URL this machine uses to
// reach the mirror (dashboard, login links, `setup`, the CLI's hand-off). A wildcard listener
// (0.0.0.0 or ::, team mode) is reached on loopback here: the control API answers loopback
// peers only, and a URL naming the wildcard address is not one a client can use.
import type { AddressInfo } from 'node:net';

export function listenUrl(address: AddressInfo): string {
  if (address.address === '0.0.0.0' || address.address === '::') return `http://127.0.0.1:${address.port}`;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
