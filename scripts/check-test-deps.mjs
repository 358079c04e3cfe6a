#!/usr/bin/env node
// Before any test starts: is every program and Python module the tests start for real on this
// machine? Prints one line per missing one, naming the Debian package that provides it, and exits 1.
// scripts/install-debian-packages.sh installs all of them; keep the two lists in step.
import { spawnSync } from 'node:child_process';
import { constants, accessSync, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the tests need: a program on PATH, a module of the system Python, or a file. */
export const TEST_DEPENDENCIES = [
  { binary: 'mosquitto', package: 'mosquitto', for: 'external MQTT 5 broker' },
  { binary: 'influxd', package: 'influxdb', for: 'InfluxDB sink' },
  { binary: 'socat', package: 'socat', for: 'serial pty pairs (Modbus RTU)' },
  { binary: 'coap-client-notls', package: 'libcoap3-bin', for: 'NB-IoT CoAP peer' },
  { binary: 'sipp', package: 'sip-tester', for: 'GB28181 SIP peer' },
  { binary: 'mbpoll', package: 'mbpoll', for: 'independent Modbus master' },
  { binary: 'python3', package: 'python3', for: 'pymodbus slave' },
  { python: 'pymodbus', package: 'python3-pymodbus', for: 'independent Modbus slave' },
  { python: 'serial', package: 'python3-serial', for: "pymodbus's server (pyserial)" },
  { binary: 'chromium', package: 'chromium', for: 'dashboard tests' },
  { binary: 'curl', package: 'curl', for: 'HTTP peer' },
  { binary: 'openssl', package: 'openssl', for: 'test CAs and certificates' },
  {
    file: '/usr/lib/postgresql/15/bin/initdb',
    package: 'postgresql',
    for: 'PostgreSQL shared store (test-kit startPostgres)',
  },
  {
    file: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
    package: 'fonts-wqy-microhei',
    for: 'CJK text in dashboard screenshots',
  },
];

/** Debian's python3-* packages live under the system interpreter, which a pyenv shim may hide. */
const systemPython = (env) => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : onPath('python3', env));

function onPath(name, env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}

function present(dep, env) {
  if (dep.binary) return onPath(dep.binary, env) !== undefined;
  if (dep.file) return existsSync(dep.file);
  const python = env.VILLAGE_TEST_PYTHON ?? systemPython(env);
  if (!python) return false;
  return spawnSync(python, ['-c', `import ${dep.python}`], { stdio: 'ignore', env }).status === 0;
}

/** The lines to print, one per missing dependency; [] when all are there. */
export function missingTestDependencies(env = process.env) {
  return TEST_DEPENDENCIES.filter((d) => !present(d, env)).map((d) => {
    const what = d.binary
      ? `program ${d.binary}`
      : d.python
        ? `Python module ${d.python} (python3 -c 'import ${d.python}')`
        : `file ${d.file}`;
    return `missing ${what}, for ${d.for}: install Debian package ${d.package}`;
  });
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const missing = missingTestDependencies();
  for (const line of missing) console.log(line);
  if (missing.length > 0) {
    console.log(
      `${missing.length} test dependencies missing: run \`sudo bash scripts/install-debian-packages.sh\` (or apt-get install the packages above)`,
    );
    process.exit(1);
  }
}
