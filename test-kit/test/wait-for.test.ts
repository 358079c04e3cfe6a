import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/wait-for.js';

describe('waitFor', () => {
  it("returns the check's first truthy value", async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => (++n >= 3 ? n : 0))).toBe(3);
  });

  it('retries a check that throws, and names what and the last error when the bound passes', async () => {
    await expect(
      waitFor(
        () => 'the server',
        () => {
          throw new Error('ECONNREFUSED');
        },
        { timeoutMs: 60, intervalMs: 10 },
      ),
    ).rejects.toThrow('timed out after 60 ms waiting for the server (last error: ECONNREFUSED)');
  });
});
