import { describe, expect, it } from 'vitest';
import { ConnectionAuth } from '../../src/front/connection-auth.js';
import { digestOf, ErrorCode } from '../../src/index.js';

const encode = (text: string) => new TextEncoder().encode(text);

describe('ConnectionAuth: who a connection is', () => {
  it('starts as its address and adds what addauth proves, once', () => {
    const auth = new ConnectionAuth('10.0.0.1');
    expect(auth.authInfo).toEqual([{ scheme: 'ip', id: '10.0.0.1' }]);
    expect(auth.addAuth('digest', encode('alice:pw'), undefined)).toEqual({
      ok: true,
      op: 'auth',
      result: {},
    });
    expect(auth.addAuth('digest', encode('alice:pw'), undefined).ok).toBe(true);
    expect(auth.authInfo).toEqual([
      { scheme: 'ip', id: '10.0.0.1' },
      { scheme: 'digest', id: digestOf('alice', 'pw') },
    ]);
    expect(auth.whoAmI()).toEqual({
      ok: true,
      op: 'whoAmI',
      result: {
        clientInfo: [
          { authScheme: 'ip', user: '10.0.0.1' },
          { authScheme: 'digest', user: 'alice' },
        ],
      },
    });
  });

  it('answers AuthFailed for a scheme that proves nothing, and keeps what it had', () => {
    const auth = new ConnectionAuth('10.0.0.1');
    expect(auth.addAuth('kerberos', encode('x'), undefined)).toEqual({
      ok: false,
      op: 'auth',
      code: ErrorCode.AuthFailed,
    });
    expect(auth.authInfo).toEqual([{ scheme: 'ip', id: '10.0.0.1' }]);
  });

  it('never changes a list it handed out: a write keeps the identities it was sent with', () => {
    const auth = new ConnectionAuth('10.0.0.1');
    const before = auth.authInfo;
    auth.addAuth('digest', encode('bob:pw'), undefined);
    expect(before).toEqual([{ scheme: 'ip', id: '10.0.0.1' }]);
    expect(auth.authInfo).not.toBe(before);
  });
});
