import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestNode } from './node';
import { freePort } from './ports';

/*
 * A RabbitMQ node with a TLS listener, and the certificates for it, made with openssl at test
 * time: a CA, a server certificate for `localhost` only (so `127.0.0.1` is a host it does not
 * name), a client certificate whose common name is a broker user (for EXTERNAL), and a second CA
 * that signed none of them but a rogue client certificate for the same user.
 */

/** The common name of the client certificate, and the broker user it logs in as. */
export const CLIENT_CN = 'tidings-mtls';

export interface Certificates {
  readonly ca: Buffer;
  readonly otherCa: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** A client certificate for the same user, signed by the other CA. */
  readonly rogueCert: Buffer;
  readonly rogueKey: Buffer;
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', [...args], { cwd, timeout: 30_000 }, (error, _out, stderr) => (error ? reject(new Error(`openssl ${args.join(' ')}: ${error.message} ${stderr}`)) : resolve()));
  });
}

async function signed(dir: string, name: string, subject: string, extensions: string, ca = 'ca'): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

/** Makes the CA, server, client and other-CA certificates in `dir`. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tidings Test CA'], dir);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=Some Other CA'], dir);
  await signed(dir, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await signed(dir, 'client', `/CN=${CLIENT_CN}`, 'extendedKeyUsage=clientAuth\n');
  // the same name, signed by a CA the broker does not trust
  await signed(dir, 'rogue', `/CN=${CLIENT_CN}`, 'extendedKeyUsage=clientAuth\n', 'other-ca');
  // the node may run as the rabbitmq user: it must read its certificate and key
  for (const f of ['ca.crt', 'server.crt', 'server.key']) chmodSync(join(dir, f), 0o644);
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return { ca: read('ca.crt'), otherCa: read('other-ca.crt'), clientCert: read('client.crt'), clientKey: read('client.key'), rogueCert: read('rogue.crt'), rogueKey: read('rogue.key') };
}

/**
 * Adds a TLS listener to a node that is not started yet: server certificate from `node.dir`,
 * client certificates checked when given, EXTERNAL login by common name. Returns its port.
 */
export async function addTlsListener(node: TestNode): Promise<number> {
  const port = await freePort();
  const file = (f: string): string => join(node.dir, f);
  appendFileSync(
    file('rabbitmq.conf'),
    [
      `listeners.ssl.default = 127.0.0.1:${port}`,
      `ssl_options.cacertfile = ${file('ca.crt')}`,
      `ssl_options.certfile = ${file('server.crt')}`,
      `ssl_options.keyfile = ${file('server.key')}`,
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = false',
      'auth_mechanisms.1 = PLAIN',
      'auth_mechanisms.2 = AMQPLAIN',
      'auth_mechanisms.3 = EXTERNAL',
      'ssl_cert_login_from = common_name',
      '',
    ].join('\n'),
  );
  writeFileSync(file('enabled_plugins'), '[rabbitmq_auth_mechanism_ssl].\n');
  return port;
}
