import { afterEach, describe, expect, it, vi } from 'vitest';
import { timeBound } from '../src/embed/time-bound.js';

describe('timeBound', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("passes work's value and error through, and leaves no timer behind", async () => {
    vi.useFakeTimers();
    await expect(timeBound(Promise.resolve(7), 1000, 'late')).resolves.toBe(7);
    await expect(timeBound(Promise.reject(new Error('no')), 1000, 'late')).rejects.toThrow('no');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with a TimeoutError saying the message once the time is up, not before', async () => {
    vi.useFakeTimers();
    let outcome: unknown;
    timeBound(new Promise(() => undefined), 1000, 'joining: x took longer than 1000 ms').catch((error) => {
      outcome = error;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(DOMException);
    expect(outcome).toMatchObject({ name: 'TimeoutError', message: 'joining: x took longer than 1000 ms' });
  });
});
