import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** `git grep` over libs/ and apps/ (tracked and new files): the files whose lines match. */
function filesMatching(pattern: string): string[] {
  let output: string;
  try {
    output = execFileSync(
      'git',
      ['grep', '-l', '--untracked', '-e', pattern, '--', 'libs', 'apps'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
  } catch (error) {
    // git grep exits 1 when nothing matches.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
  return output.split('\n').filter((file) => file && !file.endsWith('.spec.ts'));
}

describe('one home for an order life', () => {
  it('writes orders and tickets statuses only in order-lifecycle.ts', () => {
    expect(filesMatching('UPDATE orders')).toEqual(['libs/orders/src/order-lifecycle.ts']);
    expect(filesMatching('UPDATE tickets')).toEqual(['libs/orders/src/order-lifecycle.ts']);
  });

  it('inserts outbox rows only in the outbox writer', () => {
    expect(filesMatching('INSERT INTO outbox')).toEqual(['libs/outbox/src/outbox.ts']);
  });
});
