/** Service discovery (Curator's curator-x-discovery): registration, queries, a cache and a provider. */
import type { ZabClient } from '@zabkit/client';
import { ChildrenCache } from './children-cache.js';
import type { CachedNode, CacheOptions } from './internal/cache-engine.js';
import { TypedEmitter } from './internal/util-emitter.js';
import { type SessionFactory, SessionKeeper } from './internal/util-session.js';
import {
  childPath,
  ensurePath,
  isCode,
  isConnectionLoss,
  retryIdempotent,
  waitForConnection,
} from './internal/util-zk.js';

/** A registered instance of a service, stored as JSON at `<base>/<name>/<id>`. */
export interface ServiceInstance<Payload = unknown> {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port?: number;
  readonly payload?: Payload;
  /** Set at registration (milliseconds since the epoch). */
  readonly registrationTimeUtc?: number;
}

/** Options of {@link ServiceDiscovery}. */
export interface ServiceDiscoveryOptions {
  /** After a session expiry, makes a new session on which every registration is made again. */
  readonly renewSession?: SessionFactory;
}

/** The events of {@link ServiceDiscovery}. */
export type ServiceDiscoveryEvents = {
  /** Registrations were made again on a new session. */
  reregistered: [client: ZabClient];
  /** The session ended and no renewal is configured: the registrations are gone. */
  lost: [];
  error: [error: unknown];
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkSegment(what: string, value: string): void {
  if (value.length === 0 || value.includes('/'))
    throw new RangeError(`a service ${what} is one path segment`);
}

function parseInstance<P>(data: Uint8Array | null): ServiceInstance<P> | undefined {
  if (data === null) return undefined;
  try {
    const parsed = JSON.parse(decoder.decode(data)) as ServiceInstance<P>;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.id === 'string'
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Registers service instances as ephemeral JSON nodes `<basePath>/<name>/<id>` and queries
 * them. An instance vanishes when its registering session ends (closed or expired); with
 * `renewSession` the registrations are made again on the new session. Queries read the
 * server afresh; {@link ServiceCache} keeps the set current instead.
 */
export class ServiceDiscovery extends TypedEmitter<ServiceDiscoveryEvents> {
  private readonly keeper: SessionKeeper;
  private readonly registered = new Map<string, ServiceInstance>();

  constructor(
    zk: ZabClient,
    readonly basePath: string,
    options: ServiceDiscoveryOptions = {},
  ) {
    super();
    this.keeper = new SessionKeeper(zk, options.renewSession, {
      renewed: (client) => {
        void (async () => {
          for (const instance of this.registered.values()) await this.write(client, instance);
          this.fire('reregistered', client);
        })().catch((error) => this.fire('error', error));
      },
      lost: () => {
        if (this.registered.size > 0) this.fire('lost');
      },
      error: (error) => this.fire('error', error),
    });
  }

  /** The client registrations currently live on. */
  get client(): ZabClient {
    return this.keeper.client;
  }

  private pathOf(name: string, id?: string): string {
    const service = childPath(this.basePath, name);
    return id === undefined ? service : childPath(service, id);
  }

  private async write(zk: ZabClient, instance: ServiceInstance): Promise<void> {
    const path = this.pathOf(instance.name, instance.id);
    const data = encoder.encode(JSON.stringify(instance));
    await ensurePath(zk, this.pathOf(instance.name));
    for (;;) {
      try {
        await zk.create(path, data, { mode: 'ephemeral' });
        return;
      } catch (error) {
        if (isConnectionLoss(error)) {
          await waitForConnection(zk);
          continue;
        }
        if (!isCode(error, 'NodeExists')) throw error;
        const stat = await retryIdempotent(zk, () => zk.exists(path));
        if (stat === null) continue;
        if (stat.ephemeralOwner !== zk.sessionId)
          throw new Error(`instance ${instance.id} of ${instance.name} is registered by another session`);
        await retryIdempotent(zk, () => zk.setData(path, data));
        return;
      }
    }
  }

  /** Registers (or updates) an instance; resolves once its node exists. */
  async registerService<P>(instance: ServiceInstance<P>): Promise<ServiceInstance<P>> {
    checkSegment('name', instance.name);
    checkSegment('id', instance.id);
    const stored = { ...instance, registrationTimeUtc: instance.registrationTimeUtc ?? Date.now() };
    this.registered.set(`${instance.name}/${instance.id}`, stored);
    await this.write(this.keeper.client, stored);
    return stored;
  }

  /** Removes an instance registered here. */
  async unregisterService(name: string, id: string): Promise<void> {
    this.registered.delete(`${name}/${id}`);
    const zk = this.keeper.client;
    try {
      await retryIdempotent(zk, () => zk.delete(this.pathOf(name, id)));
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
    }
  }

  /** The names of the registered services. */
  async queryForNames(): Promise<string[]> {
    const zk = this.keeper.client;
    try {
      return await retryIdempotent(zk, () => zk.getChildren(this.basePath));
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
  }

  /** The live instances of service `name`, read afresh (sorted by id). */
  async queryForInstances<P = unknown>(name: string): Promise<ServiceInstance<P>[]> {
    const zk = this.keeper.client;
    let ids: string[];
    try {
      ids = await retryIdempotent(zk, () => zk.getChildren(this.pathOf(name)));
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
    const instances: ServiceInstance<P>[] = [];
    for (const id of ids) {
      const instance = await this.queryForInstance<P>(name, id);
      if (instance !== undefined) instances.push(instance);
    }
    return instances;
  }

  /** One instance, or undefined when it is not registered. */
  async queryForInstance<P = unknown>(name: string, id: string): Promise<ServiceInstance<P> | undefined> {
    const zk = this.keeper.client;
    try {
      const { data } = await retryIdempotent(zk, () => zk.getData(this.pathOf(name, id)));
      return parseInstance<P>(data);
    } catch (error) {
      if (isCode(error, 'NoNode')) return undefined;
      throw error;
    }
  }

  /** A cache of service `name`'s instances (start it before use). */
  serviceCache<P = unknown>(name: string, options: CacheOptions = {}): ServiceCache<P> {
    checkSegment('name', name);
    return new ServiceCache<P>(this.keeper.client, this.pathOf(name), options);
  }

  /** A started provider of service `name`'s instances. */
  async serviceProvider<P = unknown>(
    name: string,
    options: ServiceProviderOptions & CacheOptions = {},
  ): Promise<ServiceProvider<P>> {
    const cache = this.serviceCache<P>(name, options);
    await cache.start();
    return new ServiceProvider(cache, options);
  }

  /** Unregisters every instance registered here and stops renewing the session. */
  async close(): Promise<void> {
    const all = [...this.registered.values()];
    for (const instance of all)
      await this.unregisterService(instance.name, instance.id).catch(() => undefined);
    this.keeper.close();
  }
}

/** The events of a {@link ServiceCache}. */
export type ServiceCacheEvents<P> = {
  /** The instance set changed; `instances` is the new set. */
  changed: [instances: ServiceInstance<P>[]];
  error: [error: unknown];
};

/**
 * The live instances of one service, kept current by a {@link ChildrenCache} (so it follows
 * reconnects, and with `renewSession` expiries, as that cache does).
 */
export class ServiceCache<P = unknown> extends TypedEmitter<ServiceCacheEvents<P>> {
  private readonly cache: ChildrenCache;

  constructor(
    zk: ZabClient,
    readonly servicePath: string,
    options: CacheOptions = {},
  ) {
    super();
    this.cache = new ChildrenCache(zk, servicePath, options);
    const changed = () => this.fire('changed', this.instances());
    this.cache.on('childAdded', changed);
    this.cache.on('childUpdated', changed);
    this.cache.on('childRemoved', changed);
    this.cache.on('error', (error) => this.fire('error', error));
  }

  /** Loads the instances and starts following them. */
  start(): Promise<void> {
    return this.cache.start();
  }

  /** The instances as last seen, sorted by id. */
  instances(): ServiceInstance<P>[] {
    const instances: ServiceInstance<P>[] = [];
    for (const node of this.cache.current().values()) {
      const instance = parseInstance<P>((node as CachedNode).data);
      if (instance !== undefined) instances.push(instance);
    }
    return instances;
  }

  /** Stops following (removes the watches). */
  close(): Promise<void> {
    return this.cache.close();
  }
}

/** How a {@link ServiceProvider} picks an instance. */
export type ProviderStrategy = 'roundRobin' | 'random';

/** Options of a {@link ServiceProvider}. */
export interface ServiceProviderOptions {
  /** Default 'roundRobin'. */
  readonly strategy?: ProviderStrategy;
}

/**
 * Picks an instance of a service from a {@link ServiceCache}: round-robin over the current
 * instances (sorted by id) or at random. `getInstance` is synchronous and returns undefined
 * when there is none.
 */
export class ServiceProvider<P = unknown> {
  private next = 0;
  private readonly strategy: ProviderStrategy;

  constructor(
    readonly cache: ServiceCache<P>,
    options: ServiceProviderOptions = {},
  ) {
    this.strategy = options.strategy ?? 'roundRobin';
  }

  /** One instance by the strategy, or undefined when none is live. */
  getInstance(): ServiceInstance<P> | undefined {
    const instances = this.cache.instances();
    if (instances.length === 0) return undefined;
    if (this.strategy === 'random') return instances[Math.floor(Math.random() * instances.length)];
    const instance = instances[this.next % instances.length];
    this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER;
    return instance;
  }

  /** Every live instance. */
  getAllInstances(): ServiceInstance<P>[] {
    return this.cache.instances();
  }

  /** Closes the underlying cache. */
  close(): Promise<void> {
    return this.cache.close();
  }
}
