/**
 * The web server's settings (issue 22, items 10 and 11): web.allowed_hosts and web.trust_proxy in
 * kequn.yaml (bad entries are config errors at file:line:key), their environment overrides, the
 * public URL's host allowed automatically, and the address list that decides whose forwarded
 * headers are believed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EnvError } from '../../src/config/env-error.js';
import { loadConfig } from '../../src/app.js';
import { AddressList, addressSpecProblem, hostNameProblem } from '../../src/util/address-list.js';
import { webEnvFromEnv, webPolicy } from '../../src/web/settings.js';
import { DEMO_CONFIG_DIR, lineOf, loadProblems, removeTempDirs, replaceOnce, tempConfig } from '../helpers/fixtures.js';

afterAll(removeTempDirs);

describe('address lists (trust_proxy)', () => {
  it('takes addresses, CIDRs and the names loopback and private; matches IPv4-mapped IPv6 socket addresses', () => {
    const l = new AddressList(['192.0.2.10', '10.0.0.0/8', '2001:db8::/32', 'loopback']);
    expect(['192.0.2.10', '10.200.1.1', '2001:db8::1', '127.0.0.1', '127.9.9.9', '::1', '::ffff:10.1.2.3'].map((a) => l.has(a))).toEqual([true, true, true, true, true, true, true]);
    expect(['192.0.2.11', '11.0.0.1', '2001:db9::1', 'not-an-ip', '', undefined].map((a) => l.has(a))).toEqual([false, false, false, false, false, false]);
    const p = new AddressList(['private']);
    expect(['10.0.0.1', '172.16.5.5', '172.31.255.255', '192.168.1.1', 'fd00::1'].every((a) => p.has(a))).toBe(true);
    expect(['172.32.0.1', '8.8.8.8', '127.0.0.1'].some((a) => p.has(a))).toBe(false);
    expect(new AddressList([]).has('127.0.0.1')).toBe(false);
  });

  it('says what is wrong with a bad entry', () => {
    expect(addressSpecProblem('10.0.0.0/8')).toBeUndefined();
    expect(addressSpecProblem('::1')).toBeUndefined();
    expect(addressSpecProblem('10.0.0.0/33')).toMatch(/0-32/);
    expect(addressSpecProblem('2001:db8::/129')).toMatch(/0-128/);
    expect(addressSpecProblem('proxy.example.com')).toMatch(/not an IP address/);
    expect(addressSpecProblem('10.0.0.1/8/9')).toMatch(/not an IP address/);
    expect(() => new AddressList(['nope'])).toThrow(/not an IP address/);
  });

  it('host names are as in the address bar, without scheme or port', () => {
    for (const ok of ['kequn.example.com', 'KEQUN.example.com', 'localhost', '203.0.113.5', '[2001:db8::1]', 'xn--fiqs8s.cn']) expect(hostNameProblem(ok)).toBeUndefined();
    for (const bad of ['https://kequn.example.com', 'kequn.example.com:8443', 'kequn.example.com/path', '*', '', '2001:db8::1', 'a b']) expect(hostNameProblem(bad), bad).toMatch(/not a host name/);
  });
});

describe('web settings from kequn.yaml', () => {
  it('defaults: no extra hosts, no trusted proxies', () => {
    const c = loadConfig(DEMO_CONFIG_DIR, { env: {} });
    expect(c.web).toEqual({ host: '127.0.0.1', port: 8787, allowed_hosts: [], trust_proxy: [] });
  });

  it('a bad allowed host or proxy is a config error at its file, line and key', () => {
    let text = '';
    const dir = tempConfig({
      'kequn.yaml': (t) => (text = replaceOnce(t, '  port: 8787\n', '  port: 8787\n  allowed_hosts:\n    - https://kequn.example.com\n  trust_proxy: [127.0.0.1, 10.0.0.0/40]\n')),
    });
    const problems = loadProblems(dir);
    expect(problems.map((p) => [p.keyPath, p.line])).toEqual([
      ['web.allowed_hosts[0]', lineOf(text, '- https://kequn.example.com')],
      ['web.trust_proxy[1]', lineOf(text, 'trust_proxy:')],
    ]);
    expect(problems[0]!.message).toMatch(/not a host name/);
    expect(problems[1]!.message).toMatch(/prefix length/);
  });
});

describe('web settings from the environment', () => {
  it('reads the overrides and the staging switch', () => {
    expect(webEnvFromEnv({})).toEqual({ staging: false });
    expect(webEnvFromEnv({ KEQUN_ALLOWED_HOSTS: ' a.example.com,b.example.com ,', KEQUN_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8', KEQUN_STAGING: '1', KEQUN_PORT: '0', KEQUN_HOST: '0.0.0.0' })).toEqual({
      allowedHosts: ['a.example.com', 'b.example.com'],
      trustProxy: ['127.0.0.1', '10.0.0.0/8'],
      staging: true,
      port: 0,
      host: '0.0.0.0',
    });
    expect(webEnvFromEnv({ KEQUN_STAGING: 'false' }).staging).toBe(false);
    expect(webEnvFromEnv({ KEQUN_STAGING: '' }).staging).toBe(false);
  });

  it.each([
    [{ KEQUN_PORT: '80a' }, /KEQUN_PORT/],
    [{ KEQUN_PORT: '70000' }, /KEQUN_PORT/],
    [{ KEQUN_HOST: ' ' }, /KEQUN_HOST/],
    [{ KEQUN_ALLOWED_HOSTS: 'kequn.example.com:443' }, /KEQUN_ALLOWED_HOSTS/],
    [{ KEQUN_TRUST_PROXY: 'my-proxy' }, /KEQUN_TRUST_PROXY/],
    [{ KEQUN_STAGING: 'yes' }, /KEQUN_STAGING/],
    [{ KEQUN_ADMIN_TOKEN: 'fifteen-chars!!' }, /KEQUN_ADMIN_TOKEN is 15 characters/],
    [{ KEQUN_PUBLIC_URL: 'ftp://pay.example.com' }, /KEQUN_PUBLIC_URL/],
  ])('%o is refused naming the variable', (env, pattern) => {
    expect(() => webEnvFromEnv(env)).toThrow(EnvError);
    expect(() => webEnvFromEnv(env)).toThrow(pattern);
  });

  it('the environment replaces the config lists; the public URL\'s host is always allowed', () => {
    const dir = tempConfig({ 'kequn.yaml': (t) => replaceOnce(t, '  port: 8787\n', '  port: 8787\n  allowed_hosts: [from-config.example.com]\n  trust_proxy: [10.0.0.0/8]\n') });
    const c = loadConfig(dir, { env: { KEQUN_PUBLIC_URL: 'https://Pay.Example.org:8443/base' } });
    const fromConfig = webPolicy(c, webEnvFromEnv({}));
    expect([...fromConfig.allowedHosts].sort()).toEqual(['127.0.0.1', '[::1]', 'from-config.example.com', 'localhost', 'pay.example.org']);
    expect(fromConfig.trustProxy.has('10.9.9.9')).toBe(true);
    const fromEnv = webPolicy(c, webEnvFromEnv({ KEQUN_ALLOWED_HOSTS: 'from-env.example.com', KEQUN_TRUST_PROXY: '127.0.0.1' }));
    expect([...fromEnv.allowedHosts].sort()).toEqual(['127.0.0.1', '[::1]', 'from-env.example.com', 'localhost', 'pay.example.org']);
    expect(fromEnv.trustProxy.has('10.9.9.9')).toBe(false);
    expect(fromEnv.trustProxy.has('127.0.0.1')).toBe(true);
  });
});
