"""A driver for kazoo (Debian's python3-kazoo) for zabkit's differential tests.

One JSON command per line on stdin, one JSON answer per line on stdout, in the same shape
as ZkDriver.java answers, so one scenario runs through either client. Watch events are
recorded per session with the label of the watcher that saw them; event types and states
are given Java's names (NodeCreated, SyncConnected, ...) so transcripts compare across
clients.

Commands go through kazoo's public API, except `raw`, which builds kazoo's own request
records and hands them to its connection (KazooClient._call): kazoo normalizes paths in its
public API ("/a/" becomes "/a"), and `raw` is how a test sends a path exactly as written.
"""
import base64
import hashlib
import json
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import EXCEPTIONS, KazooException, ZookeeperError
from kazoo.protocol import serialization as records
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, CREATOR_ALL_ACL, READ_ACL_UNSAFE

# kazoo 2.8 predates the error codes ZooKeeper added in 3.5 and later; an answer carrying one
# would crash its connection loop. Its table gets them, so they reach the caller as errors.
for _code, _name in [(-12, 'UnknownSession'), (-120, 'EphemeralOnLocalSession'), (-121, 'NoWatcher'),
                     (-122, 'RequestTimeout'), (-123, 'ReconfigDisabled'), (-124, 'SessionClosedRequireSasl'),
                     (-125, 'QuotaExceeded'), (-127, 'ThrottledOp')]:
    if _code not in EXCEPTIONS:
        EXCEPTIONS[_code] = type(_name + 'Error', (ZookeeperError,), {'code': _code})

EVENT_TYPES = {
    'CREATED': 'NodeCreated',
    'DELETED': 'NodeDeleted',
    'CHANGED': 'NodeDataChanged',
    'CHILD': 'NodeChildrenChanged',
    'NONE': 'None',
}
KEEPER_STATES = {
    'CONNECTED': 'SyncConnected',
    'CONNECTED_RO': 'ConnectedReadOnly',
    'CONNECTING': 'Disconnected',
    'EXPIRED_SESSION': 'Expired',
    'AUTH_FAILED': 'AuthFailed',
    'CLOSED': 'Closed',
}


class Session(object):
    def __init__(self):
        self.client = None
        self.events = []
        self.lock = threading.Condition()
        self.watchers = {}

    def record(self, entry):
        with self.lock:
            self.events.append(entry)
            self.lock.notify_all()

    def watcher(self, label):
        """One callable per label, so kazoo's per-path watcher sets dedupe as they would."""
        if label not in self.watchers:
            def watch(event, label=label):
                self.record({
                    'watcher': label,
                    'type': EVENT_TYPES.get(event.type, event.type),
                    'state': KEEPER_STATES.get(event.state, event.state),
                    'path': event.path,
                })
            self.watchers[label] = watch
        return self.watchers[label]


sessions = {}


def b64(data):
    return None if data is None else base64.b64encode(data).decode('ascii')


def data_out(data):
    """Data up to 4 KiB as base64; larger data as its SHA-256 (as ZkDriver answers)."""
    if data is not None and len(data) > 4096:
        return {'dataSha256': hashlib.sha256(data).hexdigest()}
    return {'data': b64(data)}


def stat_out(stat):
    if stat is None:
        return None
    return {
        'czxid': str(stat.czxid),
        'mzxid': str(stat.mzxid),
        'ctime': str(stat.ctime),
        'mtime': str(stat.mtime),
        'version': stat.version,
        'cversion': stat.cversion,
        'aversion': stat.aversion,
        'ephemeralOwner': str(stat.ephemeralOwner),
        'dataLength': stat.dataLength,
        'numChildren': stat.numChildren,
        'pzxid': str(stat.pzxid),
    }


def data_in(c):
    if c.get('dataNull'):
        return None
    if 'dataSize' in c:
        return b'x' * int(c['dataSize'])
    if 'dataBase64' in c:
        return base64.b64decode(c['dataBase64'])
    return c.get('data', '').encode('utf-8')


def acl_in(value):
    if value is None or value == 'open':
        return OPEN_ACL_UNSAFE
    if value == 'creator':
        return CREATOR_ALL_ACL
    if value == 'read':
        return READ_ACL_UNSAFE
    return [ACL(int(e['perms']), Id(e['scheme'], e['id'])) for e in value]


def acl_out(acl):
    return [{'perms': e.perms, 'scheme': e.id.scheme, 'id': e.id.id} for e in acl]


MODES = {
    'persistent': (False, False),
    'persistentSequential': (False, True),
    'ephemeral': (True, False),
    'ephemeralSequential': (True, True),
}


def watcher_of(s, c):
    watch = c.get('watch')
    if not watch:
        return None
    return s.watcher('default' if watch is True else watch)


def session_of(c):
    name = c.get('session', 'a')
    if name not in sessions:
        raise RuntimeError('no session ' + name)
    return sessions[name]


def connect(c):
    name = c.get('session', 'a')
    s = Session()
    client = KazooClient(hosts=c['connectString'], timeout=c.get('timeoutMs', 10000) / 1000.0,
                         read_only=bool(c.get('canBeReadOnly')))

    def listener(state):
        s.record({'watcher': 'default', 'type': 'connectionState', 'state': state, 'path': None})

    client.add_listener(listener)
    client.start(timeout=c.get('waitMs', 30000) / 1000.0)
    s.client = client
    sessions[name] = s
    return session_info(s)


def session_info(s):
    session_id, _password = s.client.client_id
    return {'sessionId': str(session_id), 'timeoutMs': s.client._session_timeout}


def events(s, c):
    deadline = time.time() + c.get('timeoutMs', 10000) / 1000.0
    with s.lock:
        while len(s.events) < c.get('count', 0):
            left = deadline - time.time()
            if left <= 0:
                break
            s.lock.wait(left)
    time.sleep(c.get('settleMs', 200) / 1000.0)
    with s.lock:
        drained = list(s.events)
        del s.events[:]
    return drained


def multi(s, c):
    t = s.client.transaction()
    for o in c['ops']:
        op = o['op']
        if op == 'create':
            ephemeral, sequence = MODES[o.get('mode', 'persistent')]
            t.create(o['path'], data_in(o), acl_in(o.get('acl')), ephemeral, sequence)
        elif op == 'delete':
            t.delete(o['path'], o.get('version', -1))
        elif op == 'setData':
            t.set_data(o['path'], data_in(o), o.get('version', -1))
        elif op == 'check':
            t.check(o['path'], o.get('version', -1))
        else:
            raise RuntimeError('unknown multi op ' + op)
    results = []
    failed = None
    for r in t.commit():
        if isinstance(r, ZookeeperError):
            results.append({'type': 'error', 'code': r.code})
            if failed is None and r.code != 0:
                failed = r.code
        elif isinstance(r, str):
            results.append({'type': 'create', 'path': r, 'stat': None})
        elif r is True:
            # kazoo reports both delete and check as True
            results.append({'type': 'deleteOrCheck'})
        else:
            results.append({'type': 'setData', 'stat': stat_out(r)})
    if failed is not None:
        raise MultiFailed(failed, results)
    return results


class MultiFailed(Exception):
    def __init__(self, code, results):
        Exception.__init__(self, 'multi failed')
        self.code = code
        self.results = results


RAW = {
    'exists': lambda c, w: records.Exists(c['path'], w),
    'getData': lambda c, w: records.GetData(c['path'], w),
    'getChildren': lambda c, w: records.GetChildren(c['path'], w),
    'getChildren2': lambda c, w: records.GetChildren2(c['path'], w),
    'getACL': lambda c, w: records.GetACL(c['path']),
    'sync': lambda c, w: records.Sync(c['path']),
    'delete': lambda c, w: records.Delete(c['path'], c.get('version', -1)),
    'setData': lambda c, w: records.SetData(c['path'], data_in(c), c.get('version', -1)),
    'create': lambda c, w: records.Create(c['path'], data_in(c), acl_in(c.get('acl')), c.get('flags', 0)),
    'create2': lambda c, w: records.Create2(c['path'], data_in(c), acl_in(c.get('acl')), c.get('flags', 0)),
    'check': lambda c, w: records.CheckVersion(c['path'], c.get('version', -1)),
    'setACL': lambda c, w: records.SetACL(c['path'], acl_in(c.get('acl')), c.get('version', -1)),
}


class RawRequest(object):
    """A request kazoo has no record for (or a malformed one), in kazoo's request interface:
    `type`, `serialize()` and `deserialize(bytes, offset)`; the reply body is returned raw."""

    def __init__(self, type, body, path=None):
        self.type = type
        self.body = bytes(body)
        self.path = path
        self.watcher = None

    def serialize(self):
        return bytearray(self.body)

    @classmethod
    def deserialize(cls, bytes, offset):
        return {'body': base64.b64encode(bytes[offset:]).decode('ascii')}


def raw_ops(s, c):
    """kazoo's own records for each op, for a multi or multiRead of any ops at all."""
    return [RAW[o['request']](o, None) for o in c['ops']]


class MultiRead(records.Transaction):
    """kazoo's Transaction record sent as multiRead (22)."""
    type = 22


def raw_special(s, c):
    kind = c['request']
    if kind == 'multi':
        return records.Transaction(raw_ops(s, c))
    if kind == 'multiRead':
        return MultiRead(raw_ops(s, c))
    if kind in ('addWatch', 'removeWatches', 'checkWatches'):
        opcode = {'addWatch': 106, 'removeWatches': 18, 'checkWatches': 17}[kind]
        body = records.write_string(c['path']) + records.int_struct.pack(int(c['mode']))
        return RawRequest(opcode, body)
    if kind == 'opcode':
        # Any opcode with any body (hex), e.g. an unknown one or a truncated record.
        return RawRequest(int(c['opcode']), bytes.fromhex(c.get('bodyHex', '')))
    return None


def raw_result(value):
    """What kazoo's record deserializers return, in this driver's shapes."""
    if value is None or value is True or isinstance(value, dict):
        return value
    if isinstance(value, str):
        return {'path': value}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return {'children': value}
    if isinstance(value, list):
        return {'results': [raw_result(item) if not isinstance(item, Exception)
                            else {'code': getattr(item, 'code', None)} for item in value]}
    if isinstance(value, tuple) and len(value) == 2:
        first, stat = value
        if isinstance(first, list) and first and isinstance(first[0], ACL):
            return {'acl': acl_out(first), 'stat': stat_out(stat)}
        if isinstance(first, list):
            return {'children': first, 'stat': stat_out(stat)}
        if isinstance(first, str):
            return {'path': first, 'stat': stat_out(stat)}
        return dict(data_out(first), stat=stat_out(stat))
    if hasattr(value, 'czxid'):
        return stat_out(value)
    return repr(value)


def raw(s, c):
    request = raw_special(s, c) or RAW[c['request']](c, watcher_of(s, c))
    result = s.client.handler.async_result()
    s.client._call(request, result)
    return raw_result(result.get(timeout=10))


def handle(c):
    op = c['op']
    if op == 'connect':
        return connect(c)
    s = session_of(c)
    k = s.client
    if op == 'close':
        k.stop()
        k.close()
        del sessions[c.get('session', 'a')]
        return None
    if op == 'sessionInfo':
        return session_info(s)
    if op == 'events':
        return events(s, c)
    if op == 'create':
        ephemeral, sequence = MODES[c.get('mode', 'persistent')]
        created = k.create(c['path'], data_in(c), acl_in(c.get('acl')), ephemeral, sequence,
                           include_data=bool(c.get('stat')))
        if c.get('stat'):
            return {'path': created[0], 'stat': stat_out(created[1])}
        return {'path': created}
    if op == 'delete':
        k.delete(c['path'], c.get('version', -1))
        return None
    if op == 'exists':
        return stat_out(k.exists(c['path'], watch=watcher_of(s, c)))
    if op == 'getData':
        data, stat = k.get(c['path'], watch=watcher_of(s, c))
        return dict(data_out(data), stat=stat_out(stat))
    if op == 'setData':
        return stat_out(k.set(c['path'], data_in(c), c.get('version', -1)))
    if op == 'getACL':
        acl, stat = k.get_acls(c['path'])
        return {'acl': acl_out(acl), 'stat': stat_out(stat)}
    if op == 'setACL':
        return stat_out(k.set_acls(c['path'], acl_in(c.get('acl')), c.get('version', -1)))
    if op == 'getChildren':
        if c.get('stat'):
            children, stat = k.get_children(c['path'], watch=watcher_of(s, c), include_data=True)
            return {'children': children, 'stat': stat_out(stat)}
        return {'children': k.get_children(c['path'], watch=watcher_of(s, c))}
    if op == 'sync':
        return {'rc': 0, 'path': k.sync(c['path'])}
    if op == 'multi':
        return multi(s, c)
    if op == 'reconfig':
        data, stat = k.reconfig(c.get('joining'), c.get('leaving'), c.get('newMembers'),
                                int(c.get('fromConfig', -1)))
        return dict(data_out(data), stat=stat_out(stat))
    if op == 'addAuth':
        k.add_auth(c['scheme'], c['auth'])
        return None
    if op == 'raw':
        return raw(s, c)
    raise RuntimeError('unknown op ' + op)


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        c = json.loads(line)
        answer = {'id': c.get('id')}
        try:
            answer['result'] = handle(c)
            answer['ok'] = True
        except MultiFailed as error:
            answer.update(ok=False, code=error.code, results=error.results)
        except ZookeeperError as error:
            answer.update(ok=False, code=getattr(error, 'code', None), codeName=type(error).__name__)
        except (KazooException, Exception) as error:  # noqa: B014 - every failure is reported
            answer.update(ok=False, exception=type(error).__name__, message=str(error))
        out.write(json.dumps(answer) + '\n')
        out.flush()
    for s in list(sessions.values()):
        try:
            s.client.stop()
            s.client.close()
        except Exception:
            pass


if __name__ == '__main__':
    main()
