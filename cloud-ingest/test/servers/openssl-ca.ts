import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** PEM file of the CA certificate. */
  caCert: string;
  caKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A throwaway CA made by the openssl CLI in `dir` (files `<name>.pem`, `<name>.key`). */
export function makeTestCa(dir: string, name: string): TestCa {
  const caCert = join(dir, `${name}.pem`);
  const caKey = join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', ...ecKey, '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', `/CN=${name}`],
    dir,
  );
  return { caCert, caKey };
}

/**
 * A certificate signed by `ca` for `subjectAltName` (e.g. `IP:127.0.0.1,DNS:localhost`), for a
 * server (`serverAuth`) or a client (`clientAuth`). Returns the PEM paths.
 */
export function issueCert(
  dir: string,
  ca: TestCa,
  name: string,
  opts: { altNames: string; usage: 'serverAuth' | 'clientAuth' },
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nsubjectAltName=${opts.altNames}\nextendedKeyUsage=${opts.usage}\n`,
  );
  openssl(['req', ...ecKey, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCert,
      '-CAkey',
      ca.caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { cert, key };
}
