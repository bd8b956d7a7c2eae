/** The peer links' keys in zoo.cfg: learner sync chunk and window sizes, the frame cap. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

const base = 'dataDir=/tmp/zk\nclientPort=2181\n';

function refusal(text: string): ConfigError {
  try {
    parseConfig(text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('peer link settings in zoo.cfg', () => {
  it('reads the sync chunk, window, frame cap and lag bound without warnings', () => {
    const { config, warnings } = parseConfig(
      `${base}zabkit.syncChunkBytes=262144\nzabkit.syncWindowBytes=1048576\nzabkit.peerMaxFrameBytes=2097152\nzabkit.learnerLagBytesMax=4194304\n`,
    );
    expect(warnings).toEqual([]);
    expect(config.peerLinks).toEqual({
      syncChunkBytes: 262_144,
      syncWindowBytes: 1_048_576,
      peerMaxFrameBytes: 2_097_152,
      learnerLagBytesMax: 4_194_304,
    });
  });

  it.each([
    ['zabkit.syncChunkBytes', '0'],
    ['zabkit.syncWindowBytes', 'lots'],
    ['zabkit.peerMaxFrameBytes', '-1'],
    ['zabkit.learnerLagBytesMax', '0'],
  ])('refuses %s=%s, naming the key', (key, value) => {
    expect(refusal(`${base}${key}=${value}\n`).key).toBe(key);
  });

  it('refuses a window smaller than a chunk', () => {
    const error = refusal(`${base}zabkit.syncChunkBytes=2000000\nzabkit.syncWindowBytes=1000000\n`);
    expect(error.key).toBe('zabkit.syncWindowBytes');
  });

  it('refuses a frame cap that could not carry a chunk or a jute.maxbuffer record', () => {
    // A chunk (1 MiB by default) or a record (jute.maxbuffer, 0xfffff) and 64 KiB of room.
    expect(refusal(`${base}zabkit.peerMaxFrameBytes=1048576\n`).message).toMatch(/must be at least 1114112/);
    expect(refusal(`${base}zabkit.syncChunkBytes=4194304\nzabkit.peerMaxFrameBytes=2097152\n`).key).toBe(
      'zabkit.peerMaxFrameBytes',
    );
  });
});
