// The one URL this machine reaches the mirror at: what `setup` writes, what the dashboard shows
// to copy, the lock file's address for the CLI's hand-off, login links and the status. A
// wildcard listener (0.0.0.0 or ::, team mode) is reached on loopback here: the control API
// answers loopback peers only, and a URL naming the wildcard address is none a client can use.

/** Whether a listen address takes connections on every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

export function mirrorUrlOf(host: string, port: number): string {
  if (isWildcardHost(host)) return `http://127.0.0.1:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
