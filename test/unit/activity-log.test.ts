// The activity log's file: bounded, compacted, and read back whatever a kill left behind.
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIVITY_FILE, ActivityLog } from '../../src-main/control/activity-log.js';
import { failureInWords } from '../../src-shared/failure-words.js';
import { Problem } from '../../src-main/core/problem.js';
import { removeDir } from '../support/mirror.js';

let dir: string;
const log = pino({ level: 'silent' });
const stored = (n: number) => ({ key: `tarballs/p${n}-1.0.0.tar`, kind: 'tarball' as const, outcome: 'stored' as const, source: 'client' as const, bytes: n });
const lines = async () => (await readFile(join(dir, ACTIVITY_FILE), 'utf8')).split('\n').filter(Boolean);

async function opened(limit = 3): Promise<ActivityLog> {
  const activity = new ActivityLog(dir, log, limit);
  await activity.load();
  return activity;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hexhub-activity-'));
});

afterEach(async () => {
  await removeDir(dir);
});

describe('the activity log', () => {
  it('keeps the newest entries up to its bound, in a file compacted once it holds twice as many', async () => {
    const activity = await opened(3);
    for (let n = 1; n <= 10; n++) activity.record(stored(n));
    await activity.flush();
    expect(activity.list(3).map((e) => e.bytes)).toEqual([10, 9, 8]);
    expect((await lines()).length).toBeLessThanOrEqual(6);
    const again = await opened(3);
    expect(again.list(3)).toEqual(activity.list(3));
    // Numbering goes on after what was kept.
    expect(again.record(stored(11)).id).toBe(11);
  });

  it('skips a torn or damaged line, and rewrites the file so the next entry is not glued to it', async () => {
    const activity = await opened(5);
    activity.record(stored(1));
    await activity.flush();
    await appendFile(join(dir, ACTIVITY_FILE), 'not json\n{"id":2,"at":1,"key":"tarb');
    const again = await opened(5);
    expect(again.list().map((e) => e.bytes)).toEqual([1]);
    again.record(stored(2));
    await again.flush();
    expect((await opened(5)).list().map((e) => e.bytes)).toEqual([2, 1]);
    expect(await lines()).toHaveLength(2);
  });

  it('starts empty on a file that is not an activity log at all', async () => {
    await writeFile(join(dir, ACTIVITY_FILE), '\u0000\u0001garbage');
    expect((await opened()).list()).toEqual([]);
  });
});

describe('failures in user words', () => {
  it('says what happened, and keeps the engine message as the detail', () => {
    const cases: [Problem, string][] = [
      [new Problem('upstream_timeout', 'upstream failed for tarballs/a-1.0.0.tar: upstream timed out (x)'), 'the upstream did not answer in time'],
      [
        new Problem('upstream_failed', 'refused upstream tarballs/a-1.0.0.tar: SHA-256 ab does not match the registry checksum cd'),
        'the download failed verification',
      ],
      [new Problem('upstream_failed', 'upstream failed for tarballs/a-1.0.0.tar: upstream answered 503'), 'the upstream answered with an error (HTTP 503)'],
      [new Problem('upstream_failed', 'upstream failed for tarballs/a: upstream unreachable: ECONNREFUSED connect'), 'the upstream could not be reached'],
      [new Problem('not_found', 'tarball a 1.0.0 does not exist upstream'), 'it does not exist on the upstream'],
      [
        new Problem('unavailable', 'tarballs/a is not cached and the upstream is disabled (offline mode)'),
        'the mirror is offline (the upstream is turned off)',
      ],
      [new Problem('not_stored', 'tarballs/a could not be stored (the cache disk is full or not writable): ENOSPC'), 'the cache disk is full or not writable'],
    ];
    for (const [problem, words] of cases) expect(failureInWords(problem)).toEqual({ error: words, detail: problem.message });
  });
});
