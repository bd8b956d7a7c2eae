/*
 * A driver for Apache ZooKeeper's own Java client (and Curator 5 on top of it), for the
 * differential tests: one JSON command per line on stdin, one JSON answer per line on stdout.
 * Every command names a session; a session is one org.apache.zookeeper.ZooKeeper handle.
 * Watch events are recorded per session with the label of the watcher that saw them and are
 * handed back by the `events` command, so a test can compare event sequences.
 *
 * Written for zabkit's tests; it only calls the public client API (no reflection), so what it
 * reports is what an application using that client would see.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public final class ZkDriver {
    private static final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    /** One client handle, its recorded events and the watchers it has handed out, by label. */
    static final class Session {
        final List<Map<String, Object>> events = new ArrayList<>();
        final Map<String, Watcher> watchers = new HashMap<>();
        ZooKeeperAdmin zk;
        /** What `close` shuts first, last opened first: Curator's caches and framework. */
        final List<AutoCloseable> closeables = new ArrayList<>();
        /** State an extension keeps per session (Curator's framework). */
        final Map<String, Object> extension = new HashMap<>();

        Watcher watcher(String label) {
            return watchers.computeIfAbsent(label, name -> event -> record(name, event));
        }

        void record(String label, WatchedEvent event) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("watcher", label);
            entry.put("type", event.getType().name());
            entry.put("state", event.getState().name());
            entry.put("path", event.getPath());
            recordRaw(entry);
        }

        void recordRaw(Map<String, Object> entry) {
            synchronized (events) {
                events.add(entry);
                events.notifyAll();
            }
        }
    }

    private static final Map<String, Session> sessions = new HashMap<>();

    /** Commands served by a class compiled only where Curator's jars are installed. */
    interface Extension {
        Object handle(Session session, String op, Map<String, Object> command) throws Exception;
    }

    private static Extension extension;

    private static Extension curator() throws Exception {
        if (extension == null) {
            extension = (Extension) Class.forName("CuratorOps").getDeclaredConstructor().newInstance();
        }
        return extension;
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            Map<String, Object> command = Json.object(Json.parse(line));
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("id", command.get("id"));
            try {
                Object result = handle(command);
                answer.put("ok", true);
                answer.put("result", result);
            } catch (KeeperException error) {
                answer.put("ok", false);
                answer.put("code", error.code().intValue());
                answer.put("codeName", error.code().name());
                if (error.getResults() != null) answer.put("results", results(error.getResults()));
            } catch (Exception error) {
                answer.put("ok", false);
                answer.put("exception", error.getClass().getName());
                answer.put("message", String.valueOf(error.getMessage()));
            }
            out.println(Json.write(answer));
        }
        for (Session session : sessions.values()) closeQuietly(session);
        System.exit(0);
    }

    private static void closeQuietly(Session session) {
        for (int i = session.closeables.size() - 1; i >= 0; i--) {
            try {
                session.closeables.get(i).close();
            } catch (Exception ignored) {
                // closing at exit: nothing to report to
            }
        }
        try {
            if (session.zk != null) session.zk.close();
        } catch (Exception ignored) {
            // closing at exit: nothing to report to
        }
    }

    private static Session session(Map<String, Object> command) {
        String name = Json.string(command.getOrDefault("session", "a"));
        Session session = sessions.get(name);
        if (session == null) throw new IllegalStateException("no session " + name);
        return session;
    }

    private static Object handle(Map<String, Object> c) throws Exception {
        String op = Json.string(c.get("op"));
        switch (op) {
            case "connect":
                return connect(c);
            case "close": {
                Session s = session(c);
                closeQuietly(s);
                sessions.remove(Json.string(c.getOrDefault("session", "a")));
                return null;
            }
            case "sessionInfo": {
                ZooKeeper zk = session(c).zk;
                Map<String, Object> info = new LinkedHashMap<>();
                info.put("sessionId", Long.toString(zk.getSessionId()));
                info.put("timeoutMs", zk.getSessionTimeout());
                info.put("state", zk.getState().name());
                return info;
            }
            case "events":
                return events(session(c), c);
            case "create":
                return create(session(c).zk, c);
            case "delete":
                session(c).zk.delete(path(c), intOr(c, "version", -1));
                return null;
            case "exists": {
                Stat stat = session(c).zk.exists(path(c), watcherOf(session(c), c));
                return stat == null ? null : stat(stat);
            }
            case "getData": {
                Stat stat = new Stat();
                byte[] data = session(c).zk.getData(path(c), watcherOf(session(c), c), stat);
                return dataAndStat(data, stat);
            }
            case "setData":
                return stat(session(c).zk.setData(path(c), data(c), intOr(c, "version", -1)));
            case "getACL": {
                Stat stat = new Stat();
                List<ACL> acl = session(c).zk.getACL(path(c), stat);
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("acl", aclOut(acl));
                result.put("stat", stat(stat));
                return result;
            }
            case "setACL":
                return stat(session(c).zk.setACL(path(c), aclIn(c.get("acl")), intOr(c, "version", -1)));
            case "getChildren": {
                Session s = session(c);
                Map<String, Object> result = new LinkedHashMap<>();
                if (Boolean.TRUE.equals(c.get("stat"))) {
                    Stat stat = new Stat();
                    result.put("children", s.zk.getChildren(path(c), watcherOf(s, c), stat));
                    result.put("stat", stat(stat));
                } else {
                    result.put("children", s.zk.getChildren(path(c), watcherOf(s, c)));
                }
                return result;
            }
            case "getAllChildrenNumber":
                return session(c).zk.getAllChildrenNumber(path(c));
            case "getEphemerals":
                return c.containsKey("prefix")
                    ? session(c).zk.getEphemerals(Json.string(c.get("prefix")))
                    : session(c).zk.getEphemerals();
            case "sync":
                return sync(session(c).zk, path(c));
            case "multi":
                return results(session(c).zk.multi(ops(c.get("ops"))));
            case "addAuth":
                session(c).zk.addAuthInfo(Json.string(c.get("scheme")),
                    Json.string(c.get("auth")).getBytes(StandardCharsets.UTF_8));
                return null;
            case "whoAmI": {
                List<Object> infos = new ArrayList<>();
                for (ClientInfo info : session(c).zk.whoAmI()) {
                    Map<String, Object> entry = new LinkedHashMap<>();
                    entry.put("scheme", info.getAuthScheme());
                    entry.put("user", info.getUser());
                    infos.add(entry);
                }
                return infos;
            }
            case "addWatch": {
                Session s = session(c);
                AddWatchMode mode = "persistentRecursive".equals(c.get("mode"))
                    ? AddWatchMode.PERSISTENT_RECURSIVE
                    : AddWatchMode.PERSISTENT;
                s.zk.addWatch(path(c), s.watcher(Json.string(c.getOrDefault("watch", "default"))), mode);
                return null;
            }
            case "removeWatches": {
                Session s = session(c);
                s.zk.removeWatches(path(c), s.watcher(Json.string(c.get("watch"))), watcherType(c),
                    Boolean.TRUE.equals(c.get("local")));
                return null;
            }
            case "removeAllWatches":
                session(c).zk.removeAllWatches(path(c), watcherType(c), Boolean.TRUE.equals(c.get("local")));
                return null;
            case "reconfig": {
                Stat stat = new Stat();
                byte[] data = session(c).zk.reconfigure((String) c.get("joining"), (String) c.get("leaving"),
                    (String) c.get("newMembers"), c.containsKey("fromConfig") ? (long) Json.number(c.get("fromConfig")) : -1,
                    stat);
                return dataAndStat(data, stat);
            }
            case "getConfig": {
                Stat stat = new Stat();
                byte[] data = session(c).zk.getConfig(watcherOf(session(c), c), stat);
                return dataAndStat(data, stat);
            }
            case "curatorStart":
                sessions.putIfAbsent(Json.string(c.getOrDefault("session", "a")), new Session());
                return curator().handle(session(c), op, c);
            case "curatorCache":
            case "serviceCache":
            case "registerService":
            case "curatorEnsemble":
                return curator().handle(session(c), op, c);
            default:
                throw new IllegalArgumentException("unknown op " + op);
        }
    }

    private static Object connect(Map<String, Object> c) throws Exception {
        String name = Json.string(c.getOrDefault("session", "a"));
        if (sessions.containsKey(name)) throw new IllegalStateException("session " + name + " exists");
        Session s = new Session();
        ZKClientConfig config = new ZKClientConfig();
        if (c.containsKey("juteMaxBuffer")) {
            config.setProperty(ZKClientConfig.JUTE_MAXBUFFER, String.valueOf((long) Json.number(c.get("juteMaxBuffer"))));
        }
        // SASL: the JAAS section this session logs in with (the JVM's login config file holds
        // them all), or no SASL at all for this session.
        if (c.containsKey("saslSection")) {
            config.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, Json.string(c.get("saslSection")));
        }
        if (Boolean.FALSE.equals(c.get("sasl"))) {
            config.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        }
        CountDownLatch connected = new CountDownLatch(1);
        Watcher recorder = s.watcher("default");
        Watcher main = event -> {
            recorder.process(event);
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected
                    || event.getState() == Watcher.Event.KeeperState.ConnectedReadOnly) connected.countDown();
        };
        s.watchers.put("default", main);
        s.zk = new ZooKeeperAdmin(Json.string(c.get("connectString")), intOr(c, "timeoutMs", 10000), main,
            Boolean.TRUE.equals(c.get("canBeReadOnly")), config);
        sessions.put(name, s);
        if (!connected.await(intOr(c, "waitMs", 30000), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("not connected");
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("sessionId", Long.toString(s.zk.getSessionId()));
        info.put("timeoutMs", s.zk.getSessionTimeout());
        return info;
    }

    /** Waits for `count` events (or `timeoutMs`), then `settleMs` more for stragglers, and drains them. */
    private static Object events(Session s, Map<String, Object> c) throws InterruptedException {
        int count = intOr(c, "count", 0);
        long deadline = System.currentTimeMillis() + intOr(c, "timeoutMs", 10000);
        synchronized (s.events) {
            while (s.events.size() < count) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) break;
                s.events.wait(left);
            }
        }
        Thread.sleep(intOr(c, "settleMs", 200));
        synchronized (s.events) {
            List<Object> drained = new ArrayList<>(s.events);
            s.events.clear();
            return drained;
        }
    }

    private static Object create(ZooKeeper zk, Map<String, Object> c) throws Exception {
        CreateMode mode = mode(Json.string(c.getOrDefault("mode", "persistent")));
        List<ACL> acl = aclIn(c.get("acl"));
        if (Boolean.TRUE.equals(c.get("stat")) || mode.isTTL()) {
            Stat stat = new Stat();
            long ttl = c.containsKey("ttl") ? (long) Json.number(c.get("ttl")) : -1;
            String created = zk.create(path(c), data(c), acl, mode, stat, ttl);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("path", created);
            result.put("stat", stat(stat));
            return result;
        }
        return Map.of("path", zk.create(path(c), data(c), acl, mode));
    }

    private static Object sync(ZooKeeper zk, String path) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Object[] outcome = new Object[2];
        zk.sync(path, (rc, syncedPath, ctx) -> {
            outcome[0] = rc;
            outcome[1] = syncedPath;
            done.countDown();
        }, null);
        if (!done.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("sync timed out");
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("rc", outcome[0]);
        result.put("path", outcome[1]);
        return result;
    }

    private static Watcher watcherOf(Session s, Map<String, Object> c) {
        Object watch = c.get("watch");
        if (watch == null || Boolean.FALSE.equals(watch)) return null;
        return s.watcher(Boolean.TRUE.equals(watch) ? "default" : Json.string(watch));
    }

    private static Watcher.WatcherType watcherType(Map<String, Object> c) {
        return Watcher.WatcherType.valueOf(Json.string(c.getOrDefault("type", "Any")));
    }

    private static CreateMode mode(String name) {
        switch (name) {
            case "persistent": return CreateMode.PERSISTENT;
            case "persistentSequential": return CreateMode.PERSISTENT_SEQUENTIAL;
            case "ephemeral": return CreateMode.EPHEMERAL;
            case "ephemeralSequential": return CreateMode.EPHEMERAL_SEQUENTIAL;
            case "container": return CreateMode.CONTAINER;
            case "persistentWithTtl": return CreateMode.PERSISTENT_WITH_TTL;
            case "persistentSequentialWithTtl": return CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
            default: throw new IllegalArgumentException("unknown mode " + name);
        }
    }

    private static List<Op> ops(Object value) {
        List<Op> ops = new ArrayList<>();
        for (Object item : Json.array(value)) {
            Map<String, Object> o = Json.object(item);
            String op = Json.string(o.get("op"));
            switch (op) {
                case "create": {
                    CreateMode mode = mode(Json.string(o.getOrDefault("mode", "persistent")));
                    if (mode.isTTL()) {
                        ops.add(Op.create(path(o), data(o), aclIn(o.get("acl")), mode, (long) Json.number(o.get("ttl"))));
                    } else {
                        ops.add(Op.create(path(o), data(o), aclIn(o.get("acl")), mode));
                    }
                    break;
                }
                case "delete": ops.add(Op.delete(path(o), intOr(o, "version", -1))); break;
                case "setData": ops.add(Op.setData(path(o), data(o), intOr(o, "version", -1))); break;
                case "check": ops.add(Op.check(path(o), intOr(o, "version", -1))); break;
                case "getData": ops.add(Op.getData(path(o))); break;
                case "getChildren": ops.add(Op.getChildren(path(o))); break;
                default: throw new IllegalArgumentException("unknown multi op " + op);
            }
        }
        return ops;
    }

    private static List<Object> results(List<OpResult> results) {
        List<Object> list = new ArrayList<>();
        for (OpResult r : results) {
            Map<String, Object> entry = new LinkedHashMap<>();
            if (r instanceof OpResult.CreateResult) {
                OpResult.CreateResult create = (OpResult.CreateResult) r;
                entry.put("type", "create");
                entry.put("path", create.getPath());
                entry.put("stat", create.getStat() == null ? null : stat(create.getStat()));
            } else if (r instanceof OpResult.DeleteResult) {
                entry.put("type", "delete");
            } else if (r instanceof OpResult.SetDataResult) {
                entry.put("type", "setData");
                entry.put("stat", stat(((OpResult.SetDataResult) r).getStat()));
            } else if (r instanceof OpResult.CheckResult) {
                entry.put("type", "check");
            } else if (r instanceof OpResult.ErrorResult) {
                entry.put("type", "error");
                entry.put("code", ((OpResult.ErrorResult) r).getErr());
            } else if (r instanceof OpResult.GetDataResult) {
                OpResult.GetDataResult get = (OpResult.GetDataResult) r;
                entry.put("type", "getData");
                entry.putAll(dataAndStat(get.getData(), get.getStat()));
            } else if (r instanceof OpResult.GetChildrenResult) {
                entry.put("type", "getChildren");
                entry.put("children", ((OpResult.GetChildrenResult) r).getChildren());
            } else {
                entry.put("type", r.getClass().getSimpleName());
            }
            list.add(entry);
        }
        return list;
    }

    /** Data up to 4 KiB as base64; larger data as its SHA-256, so megabytes do not cross the pipe. */
    private static Map<String, Object> dataAndStat(byte[] data, Stat stat) {
        Map<String, Object> result = new LinkedHashMap<>();
        if (data != null && data.length > 4096) {
            try {
                byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(data);
                StringBuilder hex = new StringBuilder();
                for (byte b : hash) hex.append(String.format("%02x", b));
                result.put("dataSha256", hex.toString());
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        } else {
            result.put("data", data == null ? null : Base64.getEncoder().encodeToString(data));
        }
        result.put("stat", stat == null ? null : stat(stat));
        return result;
    }

    static Map<String, Object> stat(Stat s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("czxid", Long.toString(s.getCzxid()));
        m.put("mzxid", Long.toString(s.getMzxid()));
        m.put("ctime", Long.toString(s.getCtime()));
        m.put("mtime", Long.toString(s.getMtime()));
        m.put("version", s.getVersion());
        m.put("cversion", s.getCversion());
        m.put("aversion", s.getAversion());
        m.put("ephemeralOwner", Long.toString(s.getEphemeralOwner()));
        m.put("dataLength", s.getDataLength());
        m.put("numChildren", s.getNumChildren());
        m.put("pzxid", Long.toString(s.getPzxid()));
        return m;
    }

    private static List<ACL> aclIn(Object value) {
        if (value == null || "open".equals(value)) return ZooDefs.Ids.OPEN_ACL_UNSAFE;
        if ("creator".equals(value)) return ZooDefs.Ids.CREATOR_ALL_ACL;
        if ("read".equals(value)) return ZooDefs.Ids.READ_ACL_UNSAFE;
        List<ACL> acl = new ArrayList<>();
        for (Object item : Json.array(value)) {
            Map<String, Object> entry = Json.object(item);
            acl.add(new ACL((int) Json.number(entry.get("perms")),
                new Id(Json.string(entry.get("scheme")), Json.string(entry.get("id")))));
        }
        return acl;
    }

    private static List<Object> aclOut(List<ACL> acl) {
        List<Object> list = new ArrayList<>();
        for (ACL entry : acl) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("perms", entry.getPerms());
            m.put("scheme", entry.getId().getScheme());
            m.put("id", entry.getId().getId());
            list.add(m);
        }
        return list;
    }

    static String path(Map<String, Object> c) {
        return Json.string(c.get("path"));
    }

    /** `data` (UTF-8 text), `dataBase64`, `dataSize` bytes of 'x', or `dataNull`. */
    private static byte[] data(Map<String, Object> c) {
        if (Boolean.TRUE.equals(c.get("dataNull"))) return null;
        if (c.containsKey("dataSize")) {
            byte[] bytes = new byte[(int) Json.number(c.get("dataSize"))];
            java.util.Arrays.fill(bytes, (byte) 'x');
            return bytes;
        }
        if (c.containsKey("dataBase64")) return Base64.getDecoder().decode(Json.string(c.get("dataBase64")));
        return Json.string(c.getOrDefault("data", "")).getBytes(StandardCharsets.UTF_8);
    }

    static int intOr(Map<String, Object> c, String key, int fallback) {
        return c.containsKey(key) ? (int) Json.number(c.get(key)) : fallback;
    }

    /** Just enough JSON for this driver: objects, arrays, strings, numbers, booleans, null. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) throw new IllegalArgumentException("trailing characters in JSON");
            return value;
        }

        @SuppressWarnings("unchecked")
        static Map<String, Object> object(Object value) {
            return (Map<String, Object>) value;
        }

        @SuppressWarnings("unchecked")
        static List<Object> array(Object value) {
            return (List<Object>) value;
        }

        static String string(Object value) {
            return (String) value;
        }

        static double number(Object value) {
            return ((Number) value).doubleValue();
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
        }

        private Object value() {
            space();
            char c = text.charAt(at);
            if (c == '{') {
                Map<String, Object> map = new LinkedHashMap<>();
                at++;
                space();
                if (text.charAt(at) == '}') {
                    at++;
                    return map;
                }
                for (;;) {
                    space();
                    String key = (String) value();
                    space();
                    expect(':');
                    map.put(key, value());
                    space();
                    if (text.charAt(at) == ',') at++;
                    else {
                        expect('}');
                        return map;
                    }
                }
            }
            if (c == '[') {
                List<Object> list = new ArrayList<>();
                at++;
                space();
                if (text.charAt(at) == ']') {
                    at++;
                    return list;
                }
                for (;;) {
                    list.add(value());
                    space();
                    if (text.charAt(at) == ',') at++;
                    else {
                        expect(']');
                        return list;
                    }
                }
            }
            if (c == '"') return stringLiteral();
            if (text.startsWith("true", at)) {
                at += 4;
                return Boolean.TRUE;
            }
            if (text.startsWith("false", at)) {
                at += 5;
                return Boolean.FALSE;
            }
            if (text.startsWith("null", at)) {
                at += 4;
                return null;
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
            return Double.parseDouble(text.substring(start, at));
        }

        private void expect(char c) {
            if (text.charAt(at) != c) throw new IllegalArgumentException("expected " + c + " at " + at);
            at++;
        }

        private String stringLiteral() {
            StringBuilder sb = new StringBuilder();
            at++;
            for (;;) {
                char c = text.charAt(at++);
                if (c == '"') return sb.toString();
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'u':
                        sb.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                        break;
                    default: sb.append(e);
                }
            }
        }

        static String write(Object value) {
            StringBuilder sb = new StringBuilder();
            write(sb, value);
            return sb.toString();
        }

        private static void write(StringBuilder sb, Object value) {
            if (value == null) sb.append("null");
            else if (value instanceof String) quote(sb, (String) value);
            else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) sb.append(value);
            else if (value instanceof Number) sb.append(((Number) value).doubleValue());
            else if (value instanceof Map) {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(sb, String.valueOf(entry.getKey()));
                    sb.append(':');
                    write(sb, entry.getValue());
                }
                sb.append('}');
            } else if (value instanceof Collection) {
                sb.append('[');
                boolean first = true;
                for (Object item : (Collection<?>) value) {
                    if (!first) sb.append(',');
                    first = false;
                    write(sb, item);
                }
                sb.append(']');
            } else quote(sb, value.toString());
        }

        private static void quote(StringBuilder sb, String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') sb.append('\\').append(c);
                else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            sb.append('"');
        }
    }
}
