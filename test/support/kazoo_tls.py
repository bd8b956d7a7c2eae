"""kazoo over TLS for the client-port tests: creates, reads with a watch, changes and deletes a
node, one line per step.

    python3 kazoo_tls.py <hosts> <ca> <certfile or -> <keyfile or -> <path> [start timeout s]
"""
import sys
import threading

from kazoo.client import KazooClient

hosts, ca, certfile, keyfile, path = sys.argv[1:6]
start_timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 20
options = {"use_ssl": True, "ca": ca, "verify_certs": True}
if certfile != "-":
    options["certfile"] = certfile
    options["keyfile"] = keyfile
zk = KazooClient(hosts=hosts, timeout=10, **options)
zk.start(timeout=start_timeout)
print("connected", flush=True)
print("created", zk.create(path, b"one", ephemeral=True), flush=True)
changed = threading.Event()


def watch(event):
    print("event", event.type, event.path, flush=True)
    changed.set()


data, _ = zk.get(path, watch=watch)
print("read", data.decode(), flush=True)
zk.set(path, b"two")
if not changed.wait(10):
    print("no event", flush=True)
print("read", zk.get(path)[0].decode(), flush=True)
zk.delete(path)
print("deleted", zk.exists(path) is None, flush=True)
zk.stop()
zk.close()
print("closed", flush=True)
