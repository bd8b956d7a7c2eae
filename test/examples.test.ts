/** Every example runs from its one command, exits cleanly and shows what it promises. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = async (name: string) => {
  const script = fileURLToPath(new URL(`../examples/${name}.mjs`, import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 60_000 });
  return stdout;
};

describe('examples', () => {
  it('leader-http: one leader among the HTTP instances, and a new one when it stops', async () => {
    const out = await run('leader-http');
    expect(out).toMatch(/^start: .*\(leader\)/m);
    expect(out).toMatch(/^leadership moved from \w to \w$/m);
    const [, from, to] = /leadership moved from (\w) to (\w)/.exec(out)!;
    expect(to).not.toBe(from);
  }, 60_000);

  it('embedded-service: three processes, one peer each; the leader is killed and the rest answer', async () => {
    const out = await run('embedded-service');
    expect(out).toMatch(/^instances: (\d (leading|following)(, )?){3}$/m);
    expect(out).toMatch(/^instance \d took a write after the leader died: retries=7$/m);
    expect(out.match(/^instance \d answers: retries=7$/gm)).toHaveLength(2);
  }, 60_000);

  it('config-watch: every instance sees the new configuration', async () => {
    expect(await run('config-watch')).toMatch(/^every instance runs with retries=5$/m);
  }, 60_000);

  it('service-discovery: calls spread over live instances and skip a dead one', async () => {
    const out = await run('service-discovery');
    expect(out).toMatch(/^calls went to ports 8081, 8082, 8083, 8081, 8082, 8083$/m);
    expect(out).toMatch(/^after pricing-2 died, calls went to ports 8081, 8083, 8081, 8083$/m);
  }, 60_000);

  it('distributed-lock: no deposit is lost', async () => {
    expect(await run('distributed-lock')).toMatch(/^balance after 30 deposits of 10: 300$/m);
  }, 60_000);
});
