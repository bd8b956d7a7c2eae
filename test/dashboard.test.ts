/**
 * The dashboard in Debian's headless Chromium: the page loads from the admin server alone
 * (its content security policy allows nothing from elsewhere), shows the member, the live
 * figures and the sessions, and browses znodes as the signed-in identity's ACLs allow. The
 * screenshot is kept in test/artifacts/dashboard.png.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const chromium = '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

/** Chromium, headless, run to completion on `url`: its DOM once the scripts have run a while. */
async function chromiumRun(url: string, extra: string[], profile: string): Promise<string> {
  const { stdout } = await execFileAsync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--window-size=1280,960',
      // Virtual time runs the page's timers (the one-second poll) without waiting for them.
      '--virtual-time-budget=6000',
      ...extra,
      url,
    ],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

describe('the dashboard in headless Chromium', () => {
  let node: ServerNode;
  let zk: ZabClient;
  let base: string;
  const profile = mkdtempSync(join(tmpdir(), 'zabkit-chromium-'));

  beforeAll(async () => {
    if (!existsSync(chromium)) throw new Error('chromium is missing: apt-get install chromium');
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-dashboard-test\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n',
    );
    node = await ServerNode.start({ config });
    base = `http://127.0.0.1:${node.adminAddress()!.port}`;
    zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 20_000 });
    await zk.addAuth('digest', 'ops:pw');
    await zk.create('/app', 'hello dashboard');
    await zk.create('/app/child-one', '1');
    await zk.create('/app/e', '', { mode: 'ephemeral' });
    // Only ops may read /secret.
    await zk.create('/secret', 'hidden', { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] });
  }, 60_000);

  afterAll(async () => {
    await zk?.close();
    await node?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('shows the member, the figures, the sessions and the znodes the operator may read, and keeps a screenshot', async () => {
    const page = await fetch(`${base}/dashboard`);
    expect(page.status).toBe(200);
    const html = await page.text();
    // Everything inline: no script, style or image from anywhere.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);

    const dom = await chromiumRun(
      `${base}/dashboard#auth=${encodeURIComponent('digest ops:pw')}&path=/app`,
      ['--dump-dom'],
      profile,
    );
    // The script ran and polled more than once.
    expect(Number(/data-updated="(\d+)"/.exec(dom)?.[1] ?? 0)).toBeGreaterThan(1);
    expect(dom).toMatch(/server 1 · standalone · zxid 0x[0-9a-f]+/);
    expect(dom).toMatch(
      /<td>1 \(this\)<\/td><td>standalone<\/td><td>standalone<\/td><td>0x[0-9a-f]+<\/td><td>0<\/td><td><span class="ok">ok<\/span><\/td>/,
    );
    expect(dom).toContain(`0x${zk.sessionId.toString(16)}`);
    // The test's client, and the session the znode browser opened for the operator.
    expect(dom).toMatch(/Sessions <span id="session-count">\(2\)<\/span>/);
    expect(dom).toContain('>child-one</a>');
    expect(dom).toContain('hello dashboard');
    expect(dom).toMatch(/id="now-connections">1</);

    // Another identity is refused /secret, as its ACL says; ops reads it.
    const refused = await fetch(`${base}/dashboard/api/znode?path=/secret`, {
      headers: { authorization: 'digest eve:pw' },
    });
    expect(refused.status).toBe(403);
    const allowed = await fetch(`${base}/dashboard/api/znode?path=/secret`, {
      headers: { authorization: 'digest ops:pw' },
    });
    expect(((await allowed.json()) as { data: string }).data).toBe('hidden');
    expect((await fetch(`${base}/dashboard/api/znode?path=/app`)).status).toBe(401);

    mkdirSync(artifacts, { recursive: true });
    const screenshot = join(artifacts, 'dashboard.png');
    rmSync(screenshot, { force: true });
    await chromiumRun(
      `${base}/dashboard#auth=${encodeURIComponent('digest ops:pw')}&path=/app`,
      [`--screenshot=${screenshot}`],
      profile,
    );
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  }, 180_000);
});
