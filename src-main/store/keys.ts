// Cache keys are read by the dashboard too, so they are built and parsed in src-shared.
export { describeKey, isValidKey, keys, safeSegments, type ObjectKind } from '../../src-shared/keys.js';
