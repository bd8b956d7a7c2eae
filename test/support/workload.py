"""
A fault-test workload through a real ZooKeeper client (kazoo): a few clients, each with its own
session, do versioned compare-and-set on a few keys, sequential creates and reads, and record
every operation with its outcome: ok, failed (the server said no) or unknown (the connection
was lost or the call timed out, so it may or may not have happened). One JSON object a line on
stdout; the checkers in workload.ts read them.

usage: workload.py HOSTS SECONDS SEED CLIENTS
"""
import json
import random
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, KazooException, NoNodeError, NodeExistsError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry

KEYS = ['/k0', '/k1', '/k2']
# A call that has no answer by then counts as unknown (it may still take effect).
CALL_TIMEOUT_S = 10
lock = threading.Lock()


def emit(record):
    with lock:
        sys.stdout.write(json.dumps(record) + '\n')
        sys.stdout.flush()


def now_ms():
    return int(time.time() * 1000)


def client_loop(hosts, deadline, seed, index):
    rng = random.Random(seed * 1000 + index)
    # One attempt per call: a retry would hide an unknown outcome behind a later one.
    zk = KazooClient(hosts=hosts, timeout=4.0, randomize_hosts=True,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0))
    start_deadline = time.time() + 60
    while True:
        try:
            zk.start(timeout=10)
            break
        except KazooTimeoutError:
            if time.time() > start_deadline:
                raise
    n = 0
    while time.time() < deadline:
        n += 1
        op = rng.choice(['cas', 'cas', 'create', 'read'])
        start = now_ms()
        # A session that expired is replaced by a new one: reads are checked per session.
        session = ('%x' % zk.client_id[0]) if zk.client_id else None
        record = {'client': index, 'session': session, 'op': op, 'start': start}
        try:
            if op == 'cas':
                key = rng.choice(KEYS)
                record['key'] = key
                data, stat = zk.get_async(key).get(timeout=CALL_TIMEOUT_S)
                record['readVersion'] = stat.version
                record['readValue'] = data.decode()
                value = 'c%d-%d' % (index, n)
                record['value'] = value
                try:
                    new = zk.set_async(key, value.encode(), version=stat.version).get(timeout=CALL_TIMEOUT_S)
                    record['outcome'] = 'ok'
                    record['version'] = new.version
                except BadVersionError:
                    record['outcome'] = 'failed'
            elif op == 'create':
                value = 'c%d-%d' % (index, n)
                record['value'] = value
                path = zk.create_async('/seq/s-', value.encode(), sequence=True).get(timeout=CALL_TIMEOUT_S)
                record['outcome'] = 'ok'
                record['path'] = path
            else:
                key = rng.choice(KEYS)
                record['key'] = key
                data, stat = zk.get_async(key).get(timeout=CALL_TIMEOUT_S)
                record['outcome'] = 'ok'
                record['version'] = stat.version
                record['value'] = data.decode()
        except (NoNodeError, NodeExistsError) as error:
            record['outcome'] = 'failed'
            record['error'] = type(error).__name__
        except (KazooException, KazooTimeoutError) as error:
            record['outcome'] = 'unknown'
            record['error'] = type(error).__name__
            time.sleep(0.1)
        record['end'] = now_ms()
        emit(record)
        time.sleep(rng.uniform(0.005, 0.03))
    # Stopping can wait on a server that does not answer: the process exits regardless.
    threading.Thread(target=zk.stop, daemon=True).start()


def main():
    hosts, seconds, seed, clients = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    deadline = time.time() + seconds
    threads = [threading.Thread(target=client_loop, args=(hosts, deadline, seed, i), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Past the deadline a client finishes its call (bounded by CALL_TIMEOUT_S) and stops.
        thread.join(timeout=max(0.0, deadline - time.time()) + 2 * CALL_TIMEOUT_S + 5)
    emit({'op': 'done', 'end': now_ms()})


if __name__ == '__main__':
    main()
