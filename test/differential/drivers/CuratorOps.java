/*
 * Curator 5 commands for ZkDriver (compiled only where Curator's jars are installed): a
 * CuratorFramework per session, CuratorCache, and curator-x-discovery's ServiceCache. Their
 * listeners record what they report as events, as ZkDriver records watch events.
 */
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.ServiceCacheListener;

public final class CuratorOps implements ZkDriver.Extension {
    @Override
    public Object handle(ZkDriver.Session s, String op, Map<String, Object> c) throws Exception {
        switch (op) {
            case "curatorStart": return start(s, c);
            case "curatorCache": return curatorCache(s, c);
            case "serviceCache": return serviceCache(s, c);
            case "registerService": return registerService(s, c);
            case "curatorEnsemble": return ensemble(s);
            default: throw new IllegalArgumentException("unknown op " + op);
        }
    }

    private static CuratorFramework framework(ZkDriver.Session s) {
        CuratorFramework framework = (CuratorFramework) s.extension.get("curator");
        if (framework == null) throw new IllegalStateException("curatorStart first");
        return framework;
    }

    private static Map<String, Object> event(String label, String type, String state, String path) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("watcher", label);
        entry.put("type", type);
        entry.put("state", state);
        entry.put("path", path);
        return entry;
    }

    /**
     * What Curator's EnsembleTracker made of /zookeeper/config: the configuration it holds
     * (getCurrentConfig, version in hex) and the connection string it now connects with.
     */
    private static Object ensemble(ZkDriver.Session s) throws Exception {
        CuratorFramework framework = framework(s);
        Map<String, Object> result = new LinkedHashMap<>();
        org.apache.zookeeper.server.quorum.flexible.QuorumVerifier config = framework.getCurrentConfig();
        result.put("version", config == null ? null : Long.toHexString(config.getVersion()));
        result.put("members", config == null ? null : new ArrayList<>(config.getAllMembers().keySet()).toString());
        result.put("connectionString", framework.getZookeeperClient().getCurrentConnectionString());
        return result;
    }

    /** Connection states are recorded as events of watcher "curator". */
    private static Object start(ZkDriver.Session s, Map<String, Object> c) throws Exception {
        CuratorFramework framework = CuratorFrameworkFactory.newClient(ZkDriver.Json.string(c.get("connectString")),
            ZkDriver.intOr(c, "timeoutMs", 30000), ZkDriver.intOr(c, "connectionTimeoutMs", 15000),
            new RetryNTimes(3, 200));
        CountDownLatch connected = new CountDownLatch(1);
        AtomicReference<Thread> dispatcher = new AtomicReference<>();
        framework.getConnectionStateListenable().addListener((client, state) -> {
            s.recordRaw(event("curator", "connectionState", state.name(), null));
            if (state == ConnectionState.CONNECTED) {
                dispatcher.set(Thread.currentThread());
                connected.countDown();
            }
        });
        s.extension.put("curator", framework);
        s.closeables.add(framework);
        framework.start();
        if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        awaitHandedOut(dispatcher.get());
        return null;
    }

    /**
     * Waits until Curator's connection-state thread has handed the state it is delivering to
     * every listener and gone back to waiting for the next one. It walks its listeners in a
     * ConcurrentHashMap, whose iteration may or may not reach a listener added meanwhile: a
     * recipe started while CONNECTED is still being handed out can get it late. For
     * ServiceDiscovery that means re-registering its instances (delete and re-create the
     * node) just after registerService created it, a change the cache watching the service
     * reports, against either server, as often as the machine is loaded.
     */
    private static void awaitHandedOut(Thread dispatcher) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30000;
        while (!waitingForNextState(dispatcher)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("Curator's connection-state thread is still busy with listeners");
            }
            Thread.sleep(5);
        }
    }

    private static boolean waitingForNextState(Thread dispatcher) {
        Thread.State state = dispatcher.getState();
        if (state == Thread.State.TERMINATED) return true;
        if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) return false;
        // Waiting inside a listener (a lock, say) is not waiting for the next state.
        for (StackTraceElement frame : dispatcher.getStackTrace()) {
            if (frame.getClassName().startsWith("org.apache.curator.framework.listen.")) return false;
        }
        return true;
    }

    /** A CuratorCache on `path`; resolves once it has initialized, with the number of nodes it holds. */
    private static Object curatorCache(ZkDriver.Session s, Map<String, Object> c) throws Exception {
        String label = ZkDriver.Json.string(c.getOrDefault("watch", "cache"));
        CuratorCache cache = CuratorCache.build(framework(s), ZkDriver.path(c));
        CountDownLatch initialized = new CountDownLatch(1);
        cache.listenable().addListener((type, oldData, data) -> {
            Map<String, Object> entry =
                event(label, type.name(), null, data != null ? data.getPath() : oldData.getPath());
            entry.put("data", data == null || data.getData() == null
                ? null
                : new String(data.getData(), StandardCharsets.UTF_8));
            s.recordRaw(entry);
        });
        cache.listenable().addListener(new org.apache.curator.framework.recipes.cache.CuratorCacheListener() {
            @Override
            public void event(Type type, org.apache.curator.framework.recipes.cache.ChildData oldData,
                    org.apache.curator.framework.recipes.cache.ChildData data) {
                // the first listener records changes
            }

            @Override
            public void initialized() {
                initialized.countDown();
            }
        });
        s.closeables.add(cache);
        cache.start();
        if (!initialized.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("cache did not initialize");
        return cache.size();
    }

    private static ServiceDiscovery<Void> discovery(ZkDriver.Session s, Map<String, Object> c) throws Exception {
        ServiceDiscovery<Void> discovery = ServiceDiscoveryBuilder.builder(Void.class)
            .client(framework(s))
            .basePath(ZkDriver.path(c))
            .build();
        s.closeables.add(discovery);
        discovery.start();
        return discovery;
    }

    private static Object registerService(ZkDriver.Session s, Map<String, Object> c) throws Exception {
        ServiceInstance<Void> instance = ServiceInstance.<Void>builder()
            .name(ZkDriver.Json.string(c.get("name")))
            .id(ZkDriver.Json.string(c.get("instanceId")))
            .address("127.0.0.1")
            .port(ZkDriver.intOr(c, "port", 8080))
            .build();
        discovery(s, c).registerService(instance);
        return null;
    }

    private static List<String> ids(ServiceCache<Void> cache) {
        List<String> ids = new ArrayList<>();
        for (ServiceInstance<Void> instance : cache.getInstances()) ids.add(instance.getId());
        ids.sort(null);
        return ids;
    }

    /** A ServiceCache for service `name`; each change is an event carrying the sorted instance ids. */
    private static Object serviceCache(ZkDriver.Session s, Map<String, Object> c) throws Exception {
        String label = ZkDriver.Json.string(c.getOrDefault("watch", "services"));
        ServiceCache<Void> cache =
            discovery(s, c).serviceCacheBuilder().name(ZkDriver.Json.string(c.get("name"))).build();
        cache.addListener(new ServiceCacheListener() {
            @Override
            public void cacheChanged() {
                Map<String, Object> entry = event(label, "cacheChanged", null, null);
                entry.put("data", String.join(",", ids(cache)));
                s.recordRaw(entry);
            }

            @Override
            public void stateChanged(CuratorFramework client, ConnectionState state) {
                // connection states are recorded by start's listener
            }
        });
        s.closeables.add(cache);
        cache.start();
        return ids(cache);
    }
}
