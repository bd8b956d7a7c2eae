/**
 * Service registration and discovery (Curator's ServiceDiscovery): an instance registers as
 * an ephemeral JSON node at `<base>/<service>/<id>`, so it disappears with its process's
 * session; a ServiceProvider keeps the live instances of a service and picks one, round
 * robin or at random, the load-balancing use of a registry.
 */
import { randomUUID } from 'node:crypto';
import type { ZabClient } from '@zabkit/client';
import { ChildrenCache } from '../cache/tree-cache.js';
import { ensurePath, isCode, retryOnConnectionLoss } from '../internal/support.js';

/** One instance of a service. */
export interface ServiceInstance<Payload = unknown> {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly payload?: Payload;
  readonly registrationTimeMs: number;
}

const decode = <Payload>(bytes: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(bytes)) as ServiceInstance<Payload>;

export class ServiceDiscovery {
  constructor(
    private readonly zk: ZabClient,
    readonly basePath: string,
  ) {}

  /** Registers an instance (an id is made when none is given); it lives as long as the session. */
  async registerService<Payload>(
    instance: Omit<ServiceInstance<Payload>, 'id' | 'registrationTimeMs'> & { id?: string },
  ): Promise<ServiceInstance<Payload>> {
    const full: ServiceInstance<Payload> = {
      ...instance,
      id: instance.id ?? randomUUID(),
      registrationTimeMs: Date.now(),
    };
    const servicePath = `${this.basePath}/${full.name}`;
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, servicePath));
    const path = `${servicePath}/${full.id}`;
    try {
      await retryOnConnectionLoss(this.zk, () =>
        this.zk.create(path, JSON.stringify(full), { mode: 'ephemeral' }),
      );
    } catch (error) {
      if (!isCode(error, 'NodeExists')) throw error;
      const stat = await this.zk.exists(path);
      if (stat?.ephemeralOwner !== this.zk.sessionId) throw error;
    }
    return full;
  }

  /** Removes an instance this client registered. */
  async unregisterService(instance: Pick<ServiceInstance, 'name' | 'id'>): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () =>
        this.zk.delete(`${this.basePath}/${instance.name}/${instance.id}`),
      );
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
    }
  }

  /** The services with a node under the base path. */
  async queryForNames(): Promise<string[]> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.basePath));
    return retryOnConnectionLoss(this.zk, () => this.zk.getChildren(this.basePath));
  }

  /** The live instances of a service, read now. */
  async queryForInstances<Payload = unknown>(name: string): Promise<ServiceInstance<Payload>[]> {
    const servicePath = `${this.basePath}/${name}`;
    let ids: string[];
    try {
      ids = await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(servicePath));
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
    const instances: ServiceInstance<Payload>[] = [];
    for (const id of ids) {
      try {
        instances.push(decode<Payload>((await this.zk.getData(`${servicePath}/${id}`)).data));
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    }
    return instances;
  }

  /** A provider that follows the instances of `name` and picks among them. */
  provider<Payload = unknown>(
    name: string,
    options: { strategy?: 'roundRobin' | 'random' } = {},
  ): ServiceProvider<Payload> {
    return new ServiceProvider<Payload>(
      this.zk,
      `${this.basePath}/${name}`,
      options.strategy ?? 'roundRobin',
    );
  }
}

/** The live instances of one service, kept current, and a choice among them. */
export class ServiceProvider<Payload = unknown> {
  private readonly cache: ChildrenCache;
  private next = 0;

  /** @internal */
  constructor(
    private readonly zk: ZabClient,
    private readonly servicePath: string,
    private readonly strategy: 'roundRobin' | 'random',
  ) {
    this.cache = new ChildrenCache(zk, servicePath);
  }

  async start(): Promise<void> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.servicePath));
    await this.cache.start();
  }

  /** Every live instance, ordered by id. */
  getAllInstances(): ServiceInstance<Payload>[] {
    return [...this.cache.currentChildren().values()].map((node) => decode<Payload>(node.data));
  }

  /** One instance by the provider's strategy, or undefined when none is up. */
  getInstance(): ServiceInstance<Payload> | undefined {
    const instances = this.getAllInstances();
    if (instances.length === 0) return undefined;
    if (this.strategy === 'random') return instances[Math.floor(Math.random() * instances.length)];
    const chosen = instances[this.next % instances.length];
    this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER;
    return chosen;
  }

  /** Told of every change to the instances. Returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    for (const event of ['nodeAdded', 'nodeUpdated', 'nodeRemoved'] as const) this.cache.on(event, listener);
    return () => {
      for (const event of ['nodeAdded', 'nodeUpdated', 'nodeRemoved'] as const)
        this.cache.off(event, listener);
    };
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
