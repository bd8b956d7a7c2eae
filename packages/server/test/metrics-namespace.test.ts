import { describe, expect, it } from 'vitest';
import { topLevelNamespace } from '../src/metrics/registry.js';

describe('topLevelNamespace', () => {
  it('is the first name of an absolute path, as splitting on / would give it', () => {
    for (const path of ['/app', '/app/x', '/app/x/y', '/a', '/zookeeper/quota/app', '/', '//x', '/app/'])
      expect(topLevelNamespace(path)).toBe(path.split('/')[1] || undefined);
  });

  it('is undefined for the root, which has no namespace', () => {
    expect(topLevelNamespace('/')).toBeUndefined();
    expect(topLevelNamespace('/app/x')).toBe('app');
  });
});
