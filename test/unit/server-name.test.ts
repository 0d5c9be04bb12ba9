import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseServerName,
  parseDelegatedServerName,
  formatHostPort,
  isIpLiteral,
  isServerNameError,
  type ParsedServerName,
  type ServerNameError,
} from '../../src/core/server-name.js';

function ok(input: string): ParsedServerName {
  const r = parseServerName(input);
  if ('error' in r) assert.fail(`expected ${JSON.stringify(input)} to parse, got error: ${r.error}`);
  return r;
}

function bad(input: string): string {
  const r = parseServerName(input);
  if (!('error' in r)) assert.fail(`expected ${JSON.stringify(input)} to be rejected, got ${JSON.stringify(r)}`);
  assert.equal(typeof r.error, 'string');
  assert.ok(r.error.length > 10, 'error is a sentence');
  // no raw control characters in any message
  assert.doesNotMatch(r.error, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  return r.error;
}

describe('spec §3.2 table (Synapse parse/validate parity)', () => {
  const accepted: Array<[string, string, ParsedServerName['hostKind'], number | null]> = [
    ['localhost', 'localhost', 'dns', null],
    ['my-example.com:1234', 'my-example.com', 'dns', 1234],
    ['1.2.3.4', '1.2.3.4', 'ipv4', null],
    ['[0abc:1def::1234]', '0abc:1def::1234', 'ipv6', null],
    ['1.2.3.4:1', '1.2.3.4', 'ipv4', 1],
    ['[0abc:1def::1234]:8080', '0abc:1def::1234', 'ipv6', 8080],
  ];
  for (const [input, host, kind, port] of accepted) {
    test(`accepts ${input}`, () => {
      const r = ok(input);
      assert.equal(r.input, input);
      assert.equal(r.serverName, input);
      assert.equal(r.host, host);
      assert.equal(r.hostKind, kind);
      assert.equal(r.port, port);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.converted, undefined);
    });
  }

  const rejected: Array<[string, RegExp]> = [
    [':80', /host name before ":80" is empty/],
    ['', /empty/],
    ['localhost:http', /port "http" is not a number/],
    ['1234]', /unbalanced bracket.*']' without a matching '\['/],
    ['[1234', /unbalanced bracket.*never closes/],
    ['[1.2.3.4]', /IPv4 address in brackets.*write "1\.2\.3\.4"/],
    ['underscore_.com', /'_' \(underscore\) at position 11/],
    ['percent%65.com', /'%' at position 8/],
    ['newline.com\n', /ends with a line break \(\\n\)/],
    ['.empty-label.com', /starts with '\.'/],
    ['1234:5678:80', /too many ':'.*brackets/],
  ];
  for (const [input, re] of rejected) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.match(bad(input), re);
    });
  }
});

describe('spec §3.1 examples', () => {
  for (const input of ['matrix.org', 'matrix.org:8888', '1.2.3.4', '1.2.3.4:1234', '[1234:5678::abcd]', '[1234:5678::abcd]:5678']) {
    test(`valid: ${input}`, () => {
      assert.equal(ok(input).serverName, input);
    });
  }
});

describe('ports', () => {
  test('port 0 is rejected with an explanation', () => {
    assert.match(bad('example.com:0'), /port 0 is not usable: no server can listen on port 0/);
    assert.match(bad('[::1]:0'), /port 0/);
  });
  test('out of range', () => {
    assert.equal(bad('example.com:99999'), 'port 99999 is out of range (1-65535)');
    assert.equal(bad('example.com:65536'), 'port 65536 is out of range (1-65535)');
    assert.match(bad('example.com:123456'), /123456 is out of range/);
    assert.match(bad('1.2.3.4:70000'), /out of range/);
  });
  test('bounds', () => {
    assert.equal(ok('example.com:1').port, 1);
    assert.equal(ok('example.com:65535').port, 65535);
    assert.equal(ok('[::1]:65535').port, 65535);
  });
  test('non-digits', () => {
    assert.match(bad('example.com:'), /port after ":" is empty/);
    assert.match(bad('example.com:+80'), /not a number/);
    assert.match(bad('example.com:-1'), /not a number/);
    assert.match(bad('example.com:8o'), /not a number/);
    assert.match(bad('example.com:0x50'), /not a number/);
    assert.match(bad('example.com:1e3'), /not a number/);
    assert.match(bad('example.com:８４４８'), /not a number/); // full-width digits
    assert.match(bad('example.com:80:80'), /too many ':'/);
  });
  test('leading zeros: accepted with a warning; more than 5 digits rejected', () => {
    const r = ok('example.com:08448');
    assert.equal(r.port, 8448);
    assert.equal(r.serverName, 'example.com:08448');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] as string, /leading zeros/);
    assert.match(bad('example.com:008448'), /more than 5 digits/);
  });
});

describe('IPv4', () => {
  test('each part 0-255', () => {
    assert.equal(ok('0.0.0.0').hostKind, 'ipv4');
    assert.equal(ok('255.255.255.255').host, '255.255.255.255');
    assert.match(bad('1.2.3.256'), /256 is out of range \(each part is 0-255\)/);
    assert.match(bad('999.1.1.1:80'), /999 is out of range/);
  });
  test('not a dotted quad and all-numeric: rejected (resolvers treat it as an address)', () => {
    assert.match(bad('127.1'), /neither a valid IPv4 address .* nor a host name/);
    assert.match(bad('1234'), /neither a valid IPv4/);
    assert.match(bad('1.2.3.4.5'), /neither a valid IPv4/);
    assert.match(bad('1.2.3.1000'), /neither a valid IPv4/);
    assert.match(bad('example.123'), /all-numeric label "123"/);
  });
  test('numeric labels elsewhere are fine', () => {
    assert.equal(ok('1.2.3.example').hostKind, 'dns');
    assert.equal(ok('123.example.com:8448').port, 8448);
    assert.equal(ok('4chan.org').hostKind, 'dns');
  });
  test('leading zeros: normalised host, verbatim server name, warning', () => {
    const r = ok('010.001.002.003');
    assert.equal(r.hostKind, 'ipv4');
    assert.equal(r.host, '10.1.2.3');
    assert.equal(r.serverName, '010.001.002.003');
    assert.match(r.warnings.join(' '), /octal/);
  });
});

describe('IPv6', () => {
  test('valid forms', () => {
    assert.equal(ok('[::1]').host, '::1');
    assert.equal(ok('[::]').host, '::');
    assert.equal(ok('[2001:db8::1]:8448').port, 8448);
    assert.equal(ok('[1:2:3:4:5:6:7:8]').hostKind, 'ipv6');
    assert.equal(ok('[::ffff:1.2.3.4]').host, '::ffff:1.2.3.4'); // IPv4-suffixed
    assert.equal(ok('[64:ff9b::192.0.2.33]:443').port, 443);
  });
  test('upper-case hex gets the case warning', () => {
    const r = ok('[2001:DB8::1]');
    assert.match(r.warnings.join(' '), /upper-case/);
  });
  test('must be bracketed', () => {
    assert.match(bad('::1'), /must be written in brackets: "\[::1\]"/);
    assert.match(bad('2001:db8::1'), /brackets/);
    assert.match(bad('fe80::1:8448'), /brackets/);
  });
  test('invalid inside brackets', () => {
    assert.match(bad('[]'), /empty brackets/);
    assert.match(bad('[1::2::3]'), /not a valid IPv6 address/);
    assert.match(bad('[12345::1]'), /not a valid IPv6 address/);
    assert.match(bad('[1:2:3:4:5:6:7:8:9]'), /not a valid IPv6 address/);
    assert.match(bad('[::g]'), /contains 'g'/);
    assert.match(bad('[example.com]'), /not a valid IPv6 address/);
    assert.match(bad('[::ffff:01.2.3.4]'), /not a valid IPv6/);
    assert.match(bad('[fe80::1%eth0]'), /'%'.*zone identifiers/);
  });
  test('bracket structure', () => {
    assert.match(bad('[::1'), /never closes/);
    assert.match(bad('::1]'), /without a matching/);
    assert.match(bad('[[::1]]'), /'\[' appears twice/);
    assert.match(bad('[::1]]'), /only one "\[IPv6\]" pair/);
    assert.match(bad('[::1]x'), /unexpected "x" after the '\]'/);
    assert.match(bad('[::1]8448'), /unexpected "8448"/);
    assert.match(bad('[::1]:'), /port after ":" is empty/);
    assert.match(bad('a[::1]'), /misplaced '\['/);
    assert.match(bad('[::1]:80:80'), /port "80:80" is not a number/);
  });
});

describe('DNS names', () => {
  test('labels', () => {
    assert.match(bad('example..com'), /empty label/);
    assert.match(bad('.example.com'), /starts with '\.'/);
    assert.match(bad('.'), /starts with '\.'/);
    assert.equal(ok('a').host, 'a');
    assert.equal(ok('x'.repeat(63) + '.com').host.length, 67);
    assert.match(bad('x'.repeat(64) + '.com'), /is 64 characters long; DNS labels are at most 63/);
  });
  test('trailing dot rejected with a clear suggestion', () => {
    assert.match(bad('example.com.'), /ends with '\.'; write "example\.com" without the trailing dot/);
    assert.match(bad('example.com.:8448'), /trailing dot/);
  });
  test('total length: 255 max, warning above 230', () => {
    const label = 'a'.repeat(63);
    const name253 = [label, label, label, 'a'.repeat(61)].join('.');
    assert.equal(name253.length, 253);
    const r = ok(name253);
    assert.match(r.warnings.join(' '), /253 characters long; the spec recommends at most 230/);
    const name230 = 'a'.repeat(60) + '.' + 'b'.repeat(60) + '.' + 'c'.repeat(60) + '.' + 'd'.repeat(47);
    assert.equal(name230.length, 230);
    assert.deepEqual(ok(name230).warnings, []);
    // with the port counted: the recommendation is about the whole server name
    assert.match(ok(name230 + ':8448').warnings.join(' '), /235 characters/);
    const name256 = [label, label, label, 'a'.repeat(63)].join('.');
    assert.equal(name256.length, 255);
    ok(name256);
    assert.match(bad(name256 + 'a'), /256 characters long; the maximum is 255/);
  });
  test('forbidden characters, each named with its position', () => {
    assert.match(bad('exa_mple.com'), /'_' \(underscore\) at position 4/);
    assert.match(bad('exa!mple.com'), /'!' at position 4/);
    assert.match(bad('example.com?x'), /'\?'/);
    assert.match(bad('example.com#x'), /'#'/);
    assert.match(bad('exam*ple.com'), /'\*'/);
    assert.match(bad('exa,mple.com'), /','/);
  });
  test('hyphens at label edges: allowed by the grammar, warned', () => {
    const r = ok('-example.com');
    assert.match(r.warnings.join(' '), /starts or ends with '-'/);
    assert.match(ok('example-.com').warnings.join(' '), /'-'/);
    assert.deepEqual(ok('ex-ample.com').warnings, []);
  });
  test('upper case: accepted with a warning naming the lower-case form', () => {
    const r = ok('Matrix.Example.COM:8448');
    assert.equal(r.serverName, 'Matrix.Example.COM:8448', 'not changed: server names compare case-sensitively');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] as string, /compared case-sensitively.*"matrix\.example\.com:8448"/);
  });
  test('invalid punycode label is warned', () => {
    assert.match(ok('xn--zz.com').warnings.join(' '), /not valid punycode/);
    assert.deepEqual(ok('xn--bcher-kva.com').warnings, []);
  });
});

describe('input hygiene', () => {
  test('empty and whitespace', () => {
    assert.equal(bad(''), 'the server name is empty');
    assert.match(bad(' '), /whitespace/);
    assert.match(bad(' example.com'), /leading or trailing whitespace; use "example\.com"/);
    assert.match(bad('example.com '), /leading or trailing whitespace/);
    assert.match(bad('exa mple.com'), /whitespace \(a space\) at position 4/);
    assert.match(bad('example.com\u00a0'), /whitespace/);
    assert.match(bad('exa\u3000mple.com'), /whitespace/);
  });
  test('control characters: message names them escaped, never raw', () => {
    assert.match(bad('example.com\r\n'), /ends with a line break \(\\r\\n\)/);
    assert.match(bad('exa\nmple.com'), /control or invisible character \(\\n\) at position 4/);
    assert.match(bad('\x1b[31mexample.com'), /\\x1b/);
    assert.match(bad('example.com\x00'), /\\x00/);
    assert.match(bad('example.com\x7f'), /\\x7f/);
    assert.match(bad('example.com\u0085'), /\\x85/);
    assert.match(bad('exa\tmple.com'), /\\t/);
    assert.match(bad('moc.elpmaxe\u202e'), /\\u202e/);
    assert.match(bad('example\u2028.com'), /\\u2028/);
    assert.match(bad('\ufeffexample.com'), /\\ufeff/);
    assert.match(bad('exa\u200bmple.com'), /\\u200b/);
  });
  test('URLs: the error suggests the server name', () => {
    assert.equal(bad('https://example.com'), '"https://example.com" is a URL, not a server name: leave out the "https://" scheme; use "example.com"');
    assert.match(bad('https://example.com/'), /scheme and the path; use "example\.com"$/);
    assert.match(bad('https://example.com:8448/_matrix/key/v2/server'), /use "example\.com:8448"$/);
    assert.match(bad('http://user:pw@example.com'), /use "example\.com"$/);
    assert.match(bad('matrix://example.com'), /"matrix:\/\/" scheme/);
    assert.match(bad('HTTPS://EXAMPLE.COM'), /URL/);
  });
  test('paths, user IDs, @', () => {
    assert.match(bad('example.com/'), /contains a path.*use "example\.com"/);
    assert.match(bad('example.com:8448/_matrix'), /use "example\.com:8448"/);
    assert.match(bad('example.com\\x'), /path/);
    assert.match(bad('@alice:example.com'), /looks like a Matrix user ID.*"example\.com"/);
    assert.match(bad('@alice:example.com:8448'), /"example\.com:8448"/);
    assert.match(bad('alice@example.com'), /'@' at position 6/);
  });
  test('non-string input does not throw', () => {
    for (const v of [undefined, null, 42, {}, [], Symbol('x')]) {
      const r = parseServerName(v as unknown as string) as ServerNameError;
      assert.match(r.error, /must be a string/);
    }
  });
});

describe('IDN', () => {
  test('Unicode is converted to punycode and recorded', () => {
    const r = ok('bücher.example');
    assert.equal(r.serverName, 'xn--bcher-kva.example');
    assert.equal(r.host, 'xn--bcher-kva.example');
    assert.equal(r.hostKind, 'dns');
    assert.equal(r.input, 'bücher.example');
    assert.deepEqual(r.converted, { from: 'bücher.example', to: 'xn--bcher-kva.example' });
    assert.match(r.warnings.join(' '), /punycode/);
  });
  test('with a port', () => {
    const r = ok('bücher.example:8448');
    assert.equal(r.serverName, 'xn--bcher-kva.example:8448');
    assert.equal(r.port, 8448);
    assert.deepEqual(r.converted, { from: 'bücher.example:8448', to: 'xn--bcher-kva.example:8448' });
  });
  test('the tests of Synapse: bücher.com, târget.com', () => {
    assert.equal(ok('bücher.com').serverName, 'xn--bcher-kva.com');
    assert.equal(ok('târget.com').serverName, 'xn--trget-3qa.com');
  });
  test('mapping per UTS 46 (case folded, ideographic full stop, full-width)', () => {
    assert.equal(ok('BÜCHER.example').serverName, 'xn--bcher-kva.example');
    assert.equal(ok('例え。テスト').serverName, 'xn--r8jz45g.xn--zckzah');
    assert.equal(ok('ｅｘａｍｐｌｅ.com').serverName, 'example.com');
  });
  test('conversion failures and invalid results are errors', () => {
    assert.match(bad('ü\u200d.com'), /\\u200d|not a valid internationalised domain name/);
    assert.match(bad('ü..com'), /converts to "xn--tda\.\.com", which is not valid: .*empty label/);
    assert.match(bad('bü_cher.com'), /converts to .*'_'/);
    assert.match(bad('ü.com.'), /trailing dot/);
  });
  test('non-ASCII inside IPv6 brackets is not converted', () => {
    assert.match(bad('[ü::1]'), /not a valid IPv6 address: it contains "ü" \(U\+00FC\)/);
  });
});

describe('formatHostPort / isIpLiteral', () => {
  test('formatHostPort brackets IPv6 only', () => {
    assert.equal(formatHostPort('example.com', 'dns', null), 'example.com');
    assert.equal(formatHostPort('example.com', 'dns', 443), 'example.com:443');
    assert.equal(formatHostPort('1.2.3.4', 'ipv4', 8448), '1.2.3.4:8448');
    assert.equal(formatHostPort('::1', 'ipv6', null), '[::1]');
    assert.equal(formatHostPort('2001:db8::1', 'ipv6', 8448), '[2001:db8::1]:8448');
    assert.equal(formatHostPort('[::1]', 'ipv6', 1), '[::1]:1', 'no double brackets');
  });
  test('isIpLiteral', () => {
    assert.equal(isIpLiteral('1.2.3.4'), true);
    assert.equal(isIpLiteral('::1'), true);
    assert.equal(isIpLiteral('[::1]'), true);
    assert.equal(isIpLiteral('::ffff:1.2.3.4'), true);
    assert.equal(isIpLiteral('example.com'), false);
    assert.equal(isIpLiteral('1.2.3'), false);
    assert.equal(isIpLiteral('1.2.3.256'), false);
    assert.equal(isIpLiteral('[1.2.3.4]'), false);
    assert.equal(isIpLiteral('fe80::1%eth0'), false);
    assert.equal(isIpLiteral(''), false);
    assert.equal(isIpLiteral(5 as unknown as string), false);
  });
  test('parsed names round-trip through formatHostPort', () => {
    for (const input of ['example.com', 'example.com:8448', '1.2.3.4', '1.2.3.4:1', '[::1]', '[2001:db8::1]:443']) {
      const r = ok(input);
      assert.equal(formatHostPort(r.host, r.hostKind, r.port), input);
    }
  });
  test('isServerNameError', () => {
    assert.equal(isServerNameError(parseServerName('')), true);
    assert.equal(isServerNameError(parseServerName('a.com')), false);
  });
});

describe('parseDelegatedServerName (m.server)', () => {
  test('valid values', () => {
    const r = parseDelegatedServerName('matrix.example.com:443');
    assert.equal(r.valid, true);
    if (r.valid) {
      assert.equal(r.raw, 'matrix.example.com:443');
      assert.equal(r.parsed.host, 'matrix.example.com');
      assert.equal(r.parsed.port, 443);
    }
    for (const v of ['matrix.example.com', '1.2.3.4', '[::1]:8448', 'xn--bcher-kva.example']) {
      assert.equal(parseDelegatedServerName(v).valid, true, v);
    }
  });
  function invalid(v: unknown) {
    const r = parseDelegatedServerName(v);
    if (r.valid) assert.fail(`expected ${JSON.stringify(v)} to be invalid`);
    assert.deepEqual(r.raw, v, 'raw value kept for callers');
    assert.doesNotMatch(r.reason, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    return r;
  }
  test('not a string', () => {
    assert.match(invalid(8448).reason, /must be a string .* but it is a number \(8448\)/);
    assert.match(invalid(null).reason, /it is null/);
    assert.match(invalid(['a.com']).reason, /an array/);
    assert.match(invalid({ host: 'a' }).reason, /an object/);
    assert.match(invalid(true).reason, /a boolean/);
    assert.match(invalid(undefined).reason, /missing/);
    assert.equal(invalid(1).problem, 'not-string');
  });
  test('empty string', () => {
    const r = invalid('');
    assert.equal(r.problem, 'empty');
    assert.match(r.reason, /empty string/);
  });
  test('URL: suggests host:443 for https (an https URL implies 443)', () => {
    const r = invalid('https://matrix.example.com');
    assert.equal(r.problem, 'scheme');
    assert.equal(r.suggestion, 'matrix.example.com:443');
    assert.match(r.reason, /not a URL.*use "matrix\.example\.com:443"/);
    assert.equal(invalid('https://matrix.example.com:8448/').suggestion, 'matrix.example.com:8448');
    assert.equal(invalid('http://matrix.example.com').suggestion, 'matrix.example.com:80');
    assert.equal(invalid('https://').suggestion, undefined);
  });
  test('path', () => {
    const r = invalid('matrix.example.com:443/');
    assert.equal(r.problem, 'path');
    assert.equal(r.suggestion, 'matrix.example.com:443');
    assert.equal(invalid('matrix.example.com/_matrix/federation').problem, 'path');
    assert.equal(invalid('matrix.example.com?x=1').problem, 'path');
  });
  test('control characters: reason shows them escaped', () => {
    const r = invalid('matrix.example.com\r\n');
    assert.equal(r.problem, 'control-chars');
    assert.match(r.reason, /line break/);
    assert.match(r.reason, /\\r\\n/);
    assert.equal(r.suggestion, 'matrix.example.com');
    const e = invalid('\x1b[2Jmatrix.example.com');
    assert.match(e.reason, /\\x1b\[2J/);
    assert.equal(invalid('a\u202ecom').problem, 'control-chars');
  });
  test('whitespace', () => {
    const r = invalid(' matrix.example.com ');
    assert.equal(r.problem, 'whitespace');
    assert.equal(r.suggestion, 'matrix.example.com');
  });
  test('non-ASCII: no conversion, punycode suggested', () => {
    const r = invalid('bücher.example:8448');
    assert.equal(r.problem, 'non-ascii');
    assert.equal(r.suggestion, 'xn--bcher-kva.example:8448');
    assert.match(r.reason, /punycode: "xn--bcher-kva\.example:8448"/);
  });
  test('other grammar errors carry the parser message', () => {
    const r = invalid('host:abc');
    assert.equal(r.problem, 'grammar');
    assert.match(r.reason, /port "abc" is not a number/);
    assert.match(invalid('matrix.example.com:0').reason, /port 0/);
    assert.match(invalid('under_score.com').reason, /underscore/);
    assert.match(invalid('::1').reason, /brackets/);
  });
});
