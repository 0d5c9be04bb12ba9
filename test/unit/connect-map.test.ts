import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectMap, OptionError, parseConnectTo, parseResolve } from '../../src/net/connect-map.js';

describe('--resolve / --connect-to parsing (curl syntax)', () => {
  it('parses --resolve with IPv4, IPv6 and several addresses', () => {
    assert.deepEqual(parseResolve('example.com:443:127.0.0.1'), { host: 'example.com', port: 443, addresses: ['127.0.0.1'] });
    assert.deepEqual(parseResolve('Example.COM:8448:[::1],127.0.0.2'), { host: 'example.com', port: 8448, addresses: ['::1', '127.0.0.2'] });
  });
  it('rejects malformed --resolve with a clear message', () => {
    assert.throws(() => parseResolve('example.com:443'), OptionError);
    assert.throws(() => parseResolve('example.com:99999:127.0.0.1'), /not a port/);
    assert.throws(() => parseResolve('example.com:443:not-an-ip'), /not an IP address/);
  });
  it('parses --connect-to, with empty host/port as wildcards and bracketed IPv6', () => {
    assert.deepEqual(parseConnectTo('example.com:443:backend.internal:8443'), { host: 'example.com', port: 443, chost: 'backend.internal', cport: 8443 });
    assert.deepEqual(parseConnectTo('::127.0.0.1:9000'), { host: '', port: null, chost: '127.0.0.1', cport: 9000 });
    assert.deepEqual(parseConnectTo('[::1]:8448:[::1]:40000'), { host: '::1', port: 8448, chost: '::1', cport: 40000 });
    assert.throws(() => parseConnectTo('a:1:b'), /host:port:connect-host:connect-port/);
    assert.throws(() => parseConnectTo('a:1::80'), /no connect-host/);
  });
  it('routes by host, by address, and pins --resolve addresses', () => {
    const m = new ConnectMap([parseResolve('matrix.example.com:8448:127.0.0.9')], [parseConnectTo('example.com:443:127.0.0.2:4443'), parseConnectTo('127.0.0.3:8448:127.0.0.3:5000')]);
    assert.deepEqual(m.pinned('MATRIX.example.com', 8448), ['127.0.0.9']);
    assert.equal(m.pinned('matrix.example.com', 443), null);
    assert.equal(m.byHost('example.com', 443)?.port, 4443);
    assert.equal(m.byHost('example.com', 8448), null);
    // address-keyed entries never match by host, and vice versa
    assert.equal(m.byHost('127.0.0.3', 8448), null);
    assert.equal(m.byAddress('127.0.0.3', 8448)?.port, 5000);
    assert.equal(m.byAddress('127.0.0.2', 443), null);
  });
});
