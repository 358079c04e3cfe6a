// The storm of bench/login-storm.mjs, in its own process: `node login-storm-client.mjs PORT N`
// sends N wrong-password logins at once and prints the answers counted by status as one JSON line.
const [port, n] = process.argv.slice(2).map(Number);
const statuses = {};
const count = (k) => {
  statuses[k] = (statuses[k] ?? 0) + 1;
};
await Promise.all(
  Array.from({ length: n }, () =>
    fetch(`http://127.0.0.1:${port}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'officer', password: 'wrong-password' }),
    }).then(
      async (r) => {
        await r.arrayBuffer();
        count(r.status);
      },
      () => count('error'),
    ),
  ),
);
console.log(JSON.stringify(statuses));
