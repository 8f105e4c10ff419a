// The upstream's health in one word, from the server's `state` (older servers sent only `reachable`).
import type { UpstreamHealthView } from '../../src-shared/contract';

export function upstreamState(u: UpstreamHealthView): UpstreamHealthView['state'] {
  if (u.state) return u.state;
  return u.reachable === true ? 'reachable' : u.reachable === false ? 'unreachable' : 'unknown';
}
