import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src-main/core/single-flight.js';

/** A promise settled from outside, to hold a run open while others join it. */
function gate<T>(): { promise: Promise<T>; open(value: T): void; fail(error: Error): void } {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('SingleFlight', () => {
  it('runs the work once for every caller that asks while it runs, and gives them all its outcome', async () => {
    const flights = new SingleFlight<string, number>();
    const held = gate<number>();
    let runs = 0;
    const work = () => {
      runs++;
      return held.promise;
    };
    const first = flights.run('a', work);
    const second = flights.run('a', work);
    expect(flights.get('a')).toBe(first);
    expect(flights.size).toBe(1);
    held.open(42);
    expect(await Promise.all([first, second])).toEqual([42, 42]);
    expect(runs).toBe(1);
  });

  it('keeps keys apart', async () => {
    const flights = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([flights.run('a', async () => 'for a'), flights.run('b', async () => 'for b')]);
    expect([a, b]).toEqual(['for a', 'for b']);
  });

  it('frees the key before anyone sees the outcome, so the next caller starts afresh, after a failure too', async () => {
    const flights = new SingleFlight<string, number>();
    const held = gate<number>();
    const failing = flights.run('a', () => held.promise);
    const joined = flights.run('a', async () => 0);
    held.fail(new Error('upstream refused'));
    for (const caller of [failing, joined]) {
      await expect(caller).rejects.toThrow('upstream refused');
    }
    expect(flights.get('a')).toBeUndefined();
    expect(flights.size).toBe(0);
    expect(await flights.run('a', async () => 7)).toBe(7);
  });

  it("turns a synchronous throw into the run's failure", async () => {
    const flights = new SingleFlight<string, number>();
    await expect(
      flights.run('a', () => {
        throw new Error('thrown at once');
      }),
    ).rejects.toThrow('thrown at once');
    expect(flights.size).toBe(0);
  });

  it('lets a run fail with nobody waiting for it (a revalidation its client gave up on) without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void new SingleFlight<string, number>().run('a', async () => {
        throw new Error('nobody is listening');
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('settles once every run has, failed ones included, without rejecting', async () => {
    const flights = new SingleFlight<string, number>();
    const slow = gate<number>();
    const failing = gate<number>();
    void flights.run('slow', () => slow.promise);
    void flights.run('failing', () => failing.promise);
    let settled = false;
    const settling = flights.settle().then(() => (settled = true));
    failing.fail(new Error('nobody is listening'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    slow.open(1);
    await settling;
    expect(settled).toBe(true);
    expect(flights.size).toBe(0);
  });
});
