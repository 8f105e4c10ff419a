// The configuration as it is now, and everyone who has to hear when its settings change. The
// dashboard, the tray and PATCH /settings change settings while the mirror runs; the upstream
// client, the registry, the event stream and eviction each subscribe here once, where they are
// built, so a change reaches all of them without its caller having to know who they are.
import type { Settings, UpstreamChange } from '../../src-shared/contract.js';
import { keyFingerprint } from '../hex/registry.js';
import { withSettings, type Config, type UpstreamConfig } from './config.js';
import { saveSettings } from './saved-settings.js';

export interface ConfigChange {
  previous: Config;
  current: Config;
  /** The settings the change named. */
  fields: string[];
  /** Set when the upstream's URL or key is another one now. */
  upstreamChange?: UpstreamChange;
}

/** The change of trusted upstream between two configurations, if its URL or key differs. */
export function upstreamChange(from: UpstreamConfig, to: UpstreamConfig): UpstreamChange | undefined {
  if (from.url === to.url && from.publicKeyPem === to.publicKeyPem) return undefined;
  return { from: { url: from.url, fingerprint: keyFingerprint(from.publicKeyPem) }, to: { url: to.url, fingerprint: keyFingerprint(to.publicKeyPem) } };
}

export class LiveConfig {
  private config: Config;
  private readonly listeners: ((change: ConfigChange) => void)[] = [];

  constructor(initial: Config) {
    this.config = initial;
  }

  get current(): Config {
    return this.config;
  }

  /** Listeners are told in the order they subscribed: the parts that use a setting before those that report it. */
  onChange(listener: (change: ConfigChange) => void): void {
    this.listeners.push(listener);
  }

  /** Takes validated settings, tells every listener, then saves them in the data dir. */
  async apply(settings: Settings, fields: string[]): Promise<ConfigChange> {
    const previous = this.config;
    const current = withSettings(previous, settings);
    const moved = upstreamChange(previous.upstream, current.upstream);
    const change: ConfigChange = { previous, current, fields, ...(moved ? { upstreamChange: moved } : {}) };
    this.config = current;
    for (const listener of this.listeners) listener(change);
    // Values fixed by the environment are not saved: they come from the environment each start.
    const saved: Partial<Settings> = { ...settings };
    for (const name of Object.keys(current.fixedByEnv) as (keyof Settings)[]) delete saved[name];
    await saveSettings(current.dataDir, saved);
    return change;
  }
}
