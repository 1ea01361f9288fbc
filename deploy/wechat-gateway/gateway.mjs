#!/usr/bin/env node
// kequn's WeChat gateway: a Wechaty puppet behind a puppet-service gRPC server, run on the machine
// that holds the WeChat session (beside the WeChat client, for wechaty-puppet-xp), for kequn to
// connect to with WECHATY_PUPPET_SERVICE_TOKEN / _ENDPOINT (docs/wechat.md).
//
// It is what `wechaty gateway` does, without what makes that unusable here: `wechaty gateway`
// (wechaty 1.20) first connects to Wechaty's cloud service api.chatie.io and exits when it cannot
// reach it, sends it the login QR code and the account's contact, lets it log the account out or
// shut the gateway down, and registers the token in its public discovery. This one talks to no
// one but kequn, refuses to start without a decision on TLS, and checks the token against the
// certificate's name.
//
//   node gateway.mjs --puppet wechaty-puppet-xp --no-tls --host 192.168.1.20
//   node gateway.mjs --puppet wechaty-puppet-xp --host 0.0.0.0 --tls-cert gw.pem --tls-key gw-key.pem
//
// It needs only wechaty-puppet, wechaty-puppet-service and the puppet (package.json here), so the
// WeChat machine does not install kequn. Run from a kequn checkout, it uses kequn's node_modules.
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const DEFAULT_PORT = 8788;

const USAGE = `usage: node gateway.mjs --puppet <npm name> (--no-tls | --tls-cert FILE --tls-key FILE) [options]

  --puppet NAME        the Wechaty puppet to serve, installed beside this script
                       (wechaty-puppet-xp, wechaty-puppet-wechat4u, ...)
  --puppet-token T     the puppet's own token, if it takes one
  --token T            what kequn must present: <name>_<secret>, exactly one "_", a secret of
                       16 or more characters (default: a new random one, printed). With TLS,
                       <name> is the certificate's DNS name. KEQUN_GATEWAY_TOKEN works too
                       (keeps it out of the process list).
  --host H             address to listen on (default 127.0.0.1: this machine only)
  --port P             port (default ${DEFAULT_PORT})
  --no-tls             plain gRPC: the same machine or a private network you trust
  --tls-cert FILE      TLS certificate (PEM) for the gateway's name
  --tls-key FILE       its private key (PEM)`;

/** A command line or environment the gateway cannot start with; the message says what to change. */
export class GatewayUsageError extends Error {}

/**
 * The gateway's settings from its command line and environment, checked: every problem is an
 * error naming the flag, nothing is started.
 *
 * @example gatewayOptions(['--puppet', 'wechaty-puppet-xp', '--no-tls'], {})
 */
export function gatewayOptions(argv, env = process.env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        puppet: { type: 'string' },
        'puppet-token': { type: 'string' },
        token: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'no-tls': { type: 'boolean' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new GatewayUsageError(`${e.message}\n\n${USAGE}`);
  }
  if (values.help) throw new GatewayUsageError(USAGE);
  const puppet = values.puppet?.trim();
  if (!puppet) throw new GatewayUsageError(`--puppet is required\n\n${USAGE}`);
  if (!/^(@[a-z0-9-]+\/)?wechaty-puppet-[a-z0-9-]+$/.test(puppet)) throw new GatewayUsageError(`--puppet must be the npm name of a Wechaty puppet (wechaty-puppet-…), got "${puppet}"`);
  if (puppet === 'wechaty-puppet-service') throw new GatewayUsageError('--puppet wechaty-puppet-service would serve another gateway: name the puppet that holds the WeChat session');

  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new GatewayUsageError(`--port must be a port number (1-65535), got "${values.port}"`);
  const host = values.host?.trim() || '127.0.0.1';

  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if (values['no-tls'] && (certFile || keyFile)) throw new GatewayUsageError('--no-tls and --tls-cert/--tls-key contradict each other: choose one');
  if (!values['no-tls'] && !(certFile && keyFile)) {
    throw new GatewayUsageError(
      'choose how kequn reaches this gateway: --no-tls (the same machine or a private network you trust), or --tls-cert FILE --tls-key FILE (a certificate for the name kequn connects to; docs/wechat.md shows how to make one)',
    );
  }
  let tls = null;
  let names = [];
  if (certFile) {
    const cert = readPem(certFile, '--tls-cert');
    const key = readPem(keyFile, '--tls-key');
    let x509;
    try {
      x509 = new X509Certificate(cert);
    } catch (e) {
      throw new GatewayUsageError(`--tls-cert ${certFile} is not a PEM certificate: ${e.message}`);
    }
    names = certNames(x509);
    if (names.length === 0) throw new GatewayUsageError(`--tls-cert ${certFile} names no host (no DNS name in subjectAltName or CN)`);
    tls = { cert, key };
  }

  let token = (values.token ?? env.KEQUN_GATEWAY_TOKEN)?.trim();
  const generated = !token;
  if (!token) token = `${tls ? names[0] : 'insecure'}_${randomBytes(16).toString('hex')}`;
  const m = /^([A-Za-z0-9.-]+)_([A-Za-z0-9-]{16,})$/.exec(token);
  if (!m) throw new GatewayUsageError('--token must be <name>_<secret>: exactly one "_", a name of letters, digits, "." and "-", a secret of 16 or more letters, digits and "-"');
  if (tls && !names.includes(m[1])) {
    throw new GatewayUsageError(`the token's name "${m[1]}" is not a name of the certificate (${names.join(', ')}): kequn checks the certificate against it`);
  }
  return { puppet, puppetToken: values['puppet-token'] ?? env.WECHATY_PUPPET_TOKEN, token, generated, host, port, tls };
}

function readPem(file, flag) {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new GatewayUsageError(`${flag} ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

function certNames(x509) {
  const dns = (x509.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  if (dns.length > 0) return dns;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn ? [cn] : [];
}

/**
 * Starts the puppet-service server for `options` (from gatewayOptions). The puppet itself starts
 * when kequn connects (and stops when kequn stops), as with every puppet service. Returns the
 * running gateway: its puppet (tests drive the mock puppet through it) and stop().
 */
export async function startGateway(options, log = defaultLog) {
  const { helpers } = await import('wechaty-puppet');
  const { PuppetServer } = await import('wechaty-puppet-service');
  let puppet;
  try {
    puppet = await helpers.resolvePuppet({ puppet: options.puppet, puppetOptions: options.puppetToken ? { token: options.puppetToken } : {} });
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(options.puppet)) {
      throw new GatewayUsageError(`the puppet ${options.puppet} is not installed beside the gateway: npm install ${options.puppet} (in ${dirname(fileURLToPath(import.meta.url))})`);
    }
    throw e;
  }
  // What happens behind the gateway, for whoever watches its console.
  puppet.on('start', () => log(`puppet started (kequn connected)`));
  puppet.on('stop', () => log('puppet stopped (kequn disconnected)'));
  puppet.on('scan', ({ qrcode, status }) => qrcode && log(`scan to log in (status ${status}): https://wechaty.js.org/qrcode/${encodeURIComponent(qrcode)}`));
  puppet.on('login', ({ contactId }) => log(`logged in as ${contactId}`));
  puppet.on('logout', ({ contactId, data }) => log(`logged out: ${contactId}${data ? ` (${data})` : ''}`));
  puppet.on('error', ({ data }) => log(`puppet error: ${data}`));
  const endpoint = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const server = new PuppetServer({
    puppet,
    token: options.token,
    endpoint,
    tls: options.tls ? { serverCert: options.tls.cert, serverKey: options.tls.key } : { disable: true },
  });
  await server.start();
  return {
    puppet,
    endpoint,
    token: options.token,
    async stop() {
      await server.stop();
      await puppet.stop().catch(() => undefined);
    },
  };
}

/** What to set on kequn's side for this gateway (printed at start; a token given is not echoed). */
export function kequnSettings(options, reachableAs) {
  const token = options.generated ? options.token : '<the token given to the gateway>';
  const lines = [`WECHATY_PUPPET_SERVICE_TOKEN=${token}`, `WECHATY_PUPPET_SERVICE_ENDPOINT=${reachableAs}:${options.port}`];
  if (!options.tls) lines.push('WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT=true');
  else lines.push('WECHATY_PUPPET_SERVICE_TLS_CA_CERT_FILE=<the CA certificate that signed --tls-cert>');
  return lines;
}

/** The command line: parse, start, print what kequn needs, stop on SIGINT/SIGTERM. */
export async function main(argv, env = process.env, log = defaultLog) {
  const options = gatewayOptions(argv, env);
  const gateway = await startGateway(options, log);
  const local = options.host === '0.0.0.0' || options.host === '::' ? '<this machine’s address>' : options.host;
  log(`listening on ${gateway.endpoint} for ${options.puppet}, ${options.tls ? 'TLS' : 'without TLS'}`);
  if (!options.tls && !/^(127\.|::1$|localhost$)/.test(options.host)) log('no TLS beyond this machine: the token crosses the network in clear; use it only on a network you trust');
  if (options.generated) log('a new token was made for this run; pass --token (or KEQUN_GATEWAY_TOKEN) to keep it across restarts');
  log(`on kequn's side:\n  ${kequnSettings(options, local).join('\n  ')}`);
  return gateway;
}

function defaultLog(line) {
  process.stdout.write(`${new Date().toISOString()} gateway: ${line}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  main(process.argv.slice(2)).then(
    (gateway) => {
      const stop = () => void gateway.stop().finally(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (e) => {
      process.stderr.write(`${e instanceof GatewayUsageError ? '' : 'gateway: '}${e.message}\n`);
      process.exit(2);
    },
  );
}
