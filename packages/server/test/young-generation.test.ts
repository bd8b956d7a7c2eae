/**
 * The young generation `zabkit server` starts itself again with: only for the server, only
 * when node was not told one already (so the process started again goes on as it is).
 */
import { describe, expect, it } from 'vitest';
import { serverSemiSpaceMiB, youngGenerationRestart } from '../src/young-generation.js';

describe('youngGenerationRestart', () => {
  const flag = `--max-semi-space-size=${serverSemiSpaceMiB}`;

  it('starts the server again with the semi-space flag, before the node flags it had', () => {
    expect(youngGenerationRestart(['server', '--config', 'zoo.cfg'], [], undefined)).toEqual([flag]);
    expect(youngGenerationRestart(['server'], ['--cpu-prof', '--import=x.mjs'], '')).toEqual([
      flag,
      '--cpu-prof',
      '--import=x.mjs',
    ]);
  });

  it('leaves every other command as it is', () => {
    for (const argv of [['shell'], ['storage', 'inspect', 'd'], ['digest', 'a:b'], []])
      expect(youngGenerationRestart(argv, [], undefined)).toBeUndefined();
  });

  it('leaves a young generation chosen already, on the command line or in NODE_OPTIONS', () => {
    for (const chosen of [
      '--max-semi-space-size=64',
      '--max_semi_space_size=8',
      '--min-semi-space-size=4',
      '--max-young-generation-size=48',
    ]) {
      expect(youngGenerationRestart(['server'], [chosen], undefined)).toBeUndefined();
      expect(youngGenerationRestart(['server'], [], `--enable-source-maps ${chosen}`)).toBeUndefined();
    }
    // The process started again sees its own flag and goes on.
    expect(
      youngGenerationRestart(['server'], youngGenerationRestart(['server'], [], undefined)!, undefined),
    ).toBe(undefined);
  });
});
