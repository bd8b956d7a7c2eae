// Apache ZooKeeper's Java client over TLS, for the client-port tests: reads a client
// configuration file (zookeeper.client.secure, zookeeper.clientCnxnSocket, zookeeper.ssl.*)
// as zkCli's -client-configuration does, then creates, reads with a watch, changes and deletes
// a node, printing one line per step. Run with the source launcher:
//   java -cp <zookeeper and netty jars> TlsClient.java <connectString> <config file> <path> [wait s]
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;

public class TlsClient {
    public static void main(String[] args) throws Exception {
        String connectString = args[0];
        ZKClientConfig config = new ZKClientConfig(args[1]);
        String path = args[2];
        int waitSeconds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connectString, 10000, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        }, config);
        if (!connected.await(waitSeconds, TimeUnit.SECONDS)) {
            System.out.println("no session");
            System.exit(2);
        }
        System.out.println("connected secure=" + config.getBoolean(ZKClientConfig.SECURE_CLIENT)
            + " socket=" + config.getProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET));
        System.out.println("created " + zk.create(path, "one".getBytes(StandardCharsets.UTF_8),
            ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL));
        CountDownLatch changed = new CountDownLatch(1);
        byte[] data = zk.getData(path, (WatchedEvent event) -> {
            System.out.println("event " + event.getType() + " " + event.getPath());
            changed.countDown();
        }, null);
        System.out.println("read " + new String(data, StandardCharsets.UTF_8));
        zk.setData(path, "two".getBytes(StandardCharsets.UTF_8), -1);
        if (!changed.await(10, TimeUnit.SECONDS)) System.out.println("no event");
        System.out.println("read " + new String(zk.getData(path, false, null), StandardCharsets.UTF_8));
        zk.delete(path, -1);
        System.out.println("deleted " + (zk.exists(path, false) == null));
        zk.close();
        System.out.println("closed");
    }
}
