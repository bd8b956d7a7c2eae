import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const source = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, so a test run never sees a stale build.
    alias: {
      '@zabkit/core': source('core'),
      '@zabkit/client': source('client'),
      '@zabkit/wire': source('wire'),
      '@zabkit/codec': source('codec'),
      '@zabkit/transport-tcp': source('transport-tcp'),
      '@zabkit/storage-memory': source('storage-memory'),
      '@zabkit/storage-level': source('storage-level'),
      '@zabkit/transport-memory': source('transport-memory'),
      '@zabkit/server': source('server'),
      '@zabkit/recipes': source('recipes'),
      '@zabkit/sim': source('sim'),
      '@zabkit/zk-format': source('zk-format'),
    },
  },
  test: {
    testTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/differential/**'],
        },
      },
      {
        // Each file starts Apache ZooKeeper, a zabkit server and client JVMs: one file at a
        // time, so they weigh on a shared machine no more than one such set does.
        extends: true,
        test: { name: 'differential', include: ['test/differential/**/*.test.ts'], fileParallelism: false },
      },
    ],
  },
});
