/**
 * Reads one line from the terminal on stdin without echoing it (raw mode), as `passwd` does:
 * Enter ends it, Backspace deletes, Ctrl-C aborts (exit 130), Ctrl-D on an empty line ends it.
 * The prompt goes to stderr so stdout holds only the hash.
 */
export function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Raw mode before the prompt: anything typed once the prompt shows must not be echoed.
  stdin.setRawMode(true);
  stdin.resume();
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let typed = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || (ch === '\u0004' && typed.length === 0)) return done();
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
