import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface IssuedCert {
  /** PEM paths. */
  cert: string;
  key: string;
}

export interface TestCa extends IssuedCert {
  /**
   * Issues a certificate for common name `cn`, written as `<name>.pem` and `<name>.key`. A server
   * certificate names 127.0.0.1 and localhost (or `altNames`, in openssl's subjectAltName syntax)
   * and is for serverAuth; a client certificate is for clientAuth.
   */
  issue(name: string, cn: string, kind: 'server' | 'client', opts?: { altNames?: string }): IssuedCert;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A throwaway CA made with the openssl CLI in `dir` (the way docs/security.md tells operators),
 * as `<name>.pem` and `<name>.key`, valid two days.
 */
export function makeTestCa(dir: string, name: string): TestCa {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    cert,
    key,
    issue(leaf, cn, kind, { altNames = 'IP:127.0.0.1,DNS:localhost' } = {}) {
      const leafKey = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const leafCert = join(dir, `${leaf}.pem`);
      const ext = join(dir, `${leaf}.ext`);
      writeFileSync(
        ext,
        kind === 'server'
          ? `basicConstraints=CA:FALSE\nsubjectAltName=${altNames}\nextendedKeyUsage=serverAuth\n`
          : 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
      );
      openssl(['req', '-new', ...ecKey, '-keyout', leafKey, '-out', csr, '-subj', `/CN=${cn}`]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        cert,
        '-CAkey',
        key,
        '-CAcreateserial',
        '-out',
        leafCert,
        '-days',
        '2',
        '-extfile',
        ext,
      ]);
      return { cert: leafCert, key: leafKey };
    },
  };
}
