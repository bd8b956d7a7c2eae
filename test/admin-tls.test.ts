/**
 * The admin server over HTTPS, as ZooKeeper's AdminServer offers it with the ssl.quorum.*
 * stores: admin.forceHttps (HTTPS only), admin.portUnification (HTTP and HTTPS on one port)
 * and admin.needClientAuth (a client certificate the trust store accepts).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki } from './support/tls.js';

const pki = createTestPki();
const server = pki.issue({ name: 'admin-server', ip: ['127.0.0.1'] });
const client = pki.issue({ name: 'operator', usage: 'client' });
afterAll(() => pki.cleanup());

function get(
  secure: boolean,
  port: number,
  path: string,
  certificate?: { key: string; cert: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path,
      ca: pki.ca.certPem,
      ...(certificate ?? {}),
    };
    const request = (secure ? httpsRequest : httpRequest)(options, (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error('timed out')));
    request.end();
  });
}

async function start(extra: string): Promise<ServerNode> {
  const { config } = parseConfig(
    `tickTime=200\ndataDir=/tmp/zabkit-admin-tls\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n` +
      `ssl.quorum.keyStore.location=${server.keyStore('PEM')}\nssl.quorum.trustStore.location=${pki.ca.trustStore('PEM')}\n${extra}`,
  );
  return ServerNode.start({ config });
}

describe('the admin server over HTTPS', () => {
  it('serves HTTPS only with admin.forceHttps', async () => {
    const node = await start('admin.forceHttps=true\n');
    try {
      const port = node.adminAddress()!.port;
      const answer = await get(true, port, '/commands/ruok');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ command: 'ruok', error: null });
      await expect(get(false, port, '/commands/ruok')).rejects.toThrow();
    } finally {
      await node.close();
    }
  });

  it('serves both on one port with admin.portUnification', async () => {
    const node = await start('admin.portUnification=true\n');
    try {
      const port = node.adminAddress()!.port;
      expect((await get(true, port, '/commands/ruok')).status).toBe(200);
      expect((await get(false, port, '/commands/ruok')).status).toBe(200);
    } finally {
      await node.close();
    }
  });

  it('asks for a client certificate with admin.needClientAuth', async () => {
    const node = await start('admin.forceHttps=true\nadmin.needClientAuth=true\n');
    try {
      const port = node.adminAddress()!.port;
      await expect(get(true, port, '/commands/ruok')).rejects.toThrow();
      const answer = await get(true, port, '/commands/ruok', { key: client.keyPem, cert: client.certPem });
      expect(answer.status).toBe(200);
    } finally {
      await node.close();
    }
  });

  it('needs the stores, naming the key', () => {
    expect(() => parseConfig('tickTime=200\ndataDir=/tmp/x\nclientPort=0\nadmin.forceHttps=true\n')).toThrow(
      /ssl\.quorum\.keyStore\.location/,
    );
  });
});
