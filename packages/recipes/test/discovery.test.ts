import type { ZabClient } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { GroupMember } from '../src/group-member.js';
import { ServiceDiscovery } from '../src/service-discovery.js';
import { until, useServers } from './support.js';

const { connect } = useServers(20);

/** A session that expires on its own when idle: no heartbeats, a short timeout. */
async function silent(): Promise<ZabClient> {
  return (await connect(1, { sessionTimeoutMs: 100, heartbeat: false }))[0]!;
}

describe('ServiceDiscovery', () => {
  it('registers instances, queries them, and round-robins over them', async () => {
    const [a, b, observer] = await connect(3);
    const one = new ServiceDiscovery(a!, '/services');
    const two = new ServiceDiscovery(b!, '/services');
    await one.registerService({
      name: 'api',
      id: 'i1',
      address: '10.0.0.1',
      port: 80,
      payload: { zone: 'a' },
    });
    await one.registerService({ name: 'api', id: 'i2', address: '10.0.0.2', port: 80 });
    await two.registerService({ name: 'api', id: 'i3', address: '10.0.0.3', port: 81 });
    await two.registerService({ name: 'db', id: 'd1', address: '10.0.1.1' });
    const reader = new ServiceDiscovery(observer!, '/services');
    expect((await reader.queryForNames()).sort()).toEqual(['api', 'db']);
    const api = await reader.queryForInstances<{ zone: string }>('api');
    expect(api.map((instance) => instance.id)).toEqual(['i1', 'i2', 'i3']);
    expect(api[0]!.payload).toEqual({ zone: 'a' });
    expect(api[0]!.address).toBe('10.0.0.1');
    expect((await a!.exists('/services/api/i1'))?.ephemeralOwner).toBe(a!.sessionId);
    expect(await reader.queryForInstance('api', 'nope')).toBeUndefined();

    const provider = await reader.serviceProvider('api', { strategy: 'roundRobin' });
    const picks = Array.from({ length: 6 }, () => provider.getInstance()?.id);
    expect(picks).toEqual(['i1', 'i2', 'i3', 'i1', 'i2', 'i3']);
    const random = await reader.serviceProvider('api', { strategy: 'random' });
    for (let i = 0; i < 20; i++) expect(['i1', 'i2', 'i3']).toContain(random.getInstance()?.id);

    await one.unregisterService('api', 'i2');
    await until(() => provider.getAllInstances().length === 2);
    expect(provider.getAllInstances().map((instance) => instance.id)).toEqual(['i1', 'i3']);
    await provider.close();
    await random.close();
  });

  it('a cache sees an instance vanish when its client closes, and when its session expires', async () => {
    const [a, observer] = await connect(2);
    const expiring = await silent();
    await new ServiceDiscovery(a!, '/svc').registerService({ name: 'web', id: 'w1', address: 'h1' });
    await new ServiceDiscovery(expiring, '/svc').registerService({ name: 'web', id: 'w2', address: 'h2' });
    const cache = new ServiceDiscovery(observer!, '/svc').serviceCache('web');
    await cache.start();
    const sizes: number[] = [];
    cache.on('changed', (instances) => sizes.push(instances.length));
    expect(cache.instances().map((instance) => instance.id)).toEqual(['w1', 'w2']);
    await until(() => expiring.state === 'expired');
    await until(() => cache.instances().length === 1);
    expect(cache.instances()[0]!.id).toBe('w1');
    await a!.close();
    await until(() => cache.instances().length === 0);
    expect(sizes).toEqual([1, 0]);
    await cache.close();
  });

  it('with renewSession, registrations come back on the new session after expiry', async () => {
    const [observer] = await connect(1);
    const expiring = await silent();
    const discovery = new ServiceDiscovery(expiring, '/svc', {
      renewSession: async () => (await connect(1))[0]!,
    });
    const back = new Promise<ZabClient>((resolve) => discovery.on('reregistered', resolve));
    await discovery.registerService({ name: 'web', id: 'w9', address: 'h9' });
    const renewed = await back;
    expect(renewed).not.toBe(expiring);
    expect(discovery.client).toBe(renewed);
    const stat = await observer!.exists('/svc/web/w9');
    expect(stat?.ephemeralOwner).toBe(renewed.sessionId);
    await discovery.close();
    expect(await observer!.exists('/svc/web/w9')).toBeNull();
  });
});

describe('GroupMember', () => {
  it('joins with a payload, lists members, leaves on close', async () => {
    const [a, b] = await connect(2);
    const m1 = new GroupMember(a!, '/groups/g', 'm1', 'one');
    const m2 = new GroupMember(b!, '/groups/g', 'm2', 'two');
    await m1.start();
    await m2.start();
    const members = await m1.members();
    expect([...members.keys()]).toEqual(['m1', 'm2']);
    expect(new TextDecoder().decode(members.get('m2'))).toBe('two');
    await m2.setPayload('deux');
    expect(new TextDecoder().decode((await m1.members()).get('m2'))).toBe('deux');
    await m2.close();
    expect([...(await m1.members()).keys()]).toEqual(['m1']);
    await m1.close();
  });

  it('a member whose node is deleted by someone else creates it again', async () => {
    const [a, b] = await connect(2);
    const member = new GroupMember(a!, '/groups/g', 'm1', 'x');
    await member.start();
    const joined = new Promise<void>((resolve) => member.once('joined', () => resolve()));
    await b!.delete('/groups/g/m1');
    await joined;
    expect((await b!.exists('/groups/g/m1'))?.ephemeralOwner).toBe(a!.sessionId);
    await member.close();
  });

  it('re-creates its node on the new session after expiry', async () => {
    const [observer] = await connect(1);
    const expiring = await silent();
    const member = new GroupMember(expiring, '/groups/h', 'me', 'payload', {
      renewSession: async () => (await connect(1))[0]!,
    });
    await member.start();
    const firstOwner = (await observer!.exists('/groups/h/me'))?.ephemeralOwner;
    expect(firstOwner).toBe(expiring.sessionId);
    const rejoined = new Promise<ZabClient>((resolve) => member.once('joined', resolve));
    const client = await rejoined;
    expect(expiring.state).toBe('expired');
    expect(client).not.toBe(expiring);
    const stat = await observer!.exists('/groups/h/me');
    expect(stat?.ephemeralOwner).toBe(client.sessionId);
    expect(new TextDecoder().decode((await observer!.getData('/groups/h/me')).data)).toBe('payload');
    await member.close();
    expect(await observer!.exists('/groups/h/me')).toBeNull();
  });

  it('without renewSession an expiry is reported as lost', async () => {
    const expiring = await silent();
    const member = new GroupMember(expiring, '/groups/l', 'me');
    const lost = new Promise<void>((resolve) => member.once('lost', () => resolve()));
    await member.start();
    await lost;
    await member.close();
  });
});
