// What every CLI command needs: the configuration, validated, with a clear exit on a bad value.
import { ConfigError, type Config, type ConfigOverrides } from '../config/config.js';
import { loadStartupConfig } from '../config/saved-settings.js';

export function fail(message: string, code = 2): never {
  process.stderr.write(`hexhub: ${message}\n`);
  process.exit(code);
}

export function configFrom(overrides: ConfigOverrides): Config {
  try {
    return loadStartupConfig(process.env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}
