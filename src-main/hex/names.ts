// The checks live in src-shared, where the dashboard reads cache keys with them too.
export { isPackageName, isVersion, parseReleaseFile, type Release } from '../../src-shared/names.js';
