/** The store's key in zoo.cfg: the value log's threshold, and the store it opens. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { levelStoreLocation, openLevelStore } from '../src/level-store.js';
import { silentLogger } from '../src/log.js';

const base = 'dataDir=/tmp/zk\nclientPort=2181\n';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('store settings in zoo.cfg', () => {
  it('has no value log by default, and reads zabkit.valueLogThresholdBytes without warnings', () => {
    expect(parseConfig(base).config.store.valueLogThresholdBytes).toBe(0);
    const { config, warnings } = parseConfig(`${base}zabkit.valueLogThresholdBytes=65536\n`);
    expect(warnings).toEqual([]);
    expect(config.store.valueLogThresholdBytes).toBe(65_536);
  });

  it.each(['-1', 'big', '4294967296'])(
    'refuses zabkit.valueLogThresholdBytes=%s, naming the key',
    (value) => {
      let error: unknown;
      try {
        parseConfig(`${base}zabkit.valueLogThresholdBytes=${value}\n`);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe('zabkit.valueLogThresholdBytes');
    },
  );

  it('opens the store with its value log when the threshold is set', async () => {
    for (const [threshold, expected] of [
      [0, false],
      [1, true],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'zabkit-store-config-'));
      dirs.push(dir);
      const { config } = parseConfig(
        `dataDir=${dir}\nclientPort=2181\nzabkit.valueLogThresholdBytes=${threshold}\n`,
      );
      const store = await openLevelStore(config, silentLogger);
      await store.close();
      expect(existsSync(join(levelStoreLocation(config), 'values'))).toBe(expected);
    }
  });
});
