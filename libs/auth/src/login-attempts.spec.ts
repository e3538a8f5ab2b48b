import { InProcessLoginAttempts } from './login-attempts';

describe('InProcessLoginAttempts', () => {
  const WINDOW_MS = 15 * 60 * 1000;

  function storeAt(start: number) {
    const clock = { now: start };
    return { clock, store: new InProcessLoginAttempts(WINDOW_MS, () => clock.now) };
  }

  it('counts each attempt before it is checked, and gives back a correct one', async () => {
    const { clock, store } = storeAt(1_000_000);
    expect(await store.attempt('a@example.com')).toEqual({ count: 1, msLeft: WINDOW_MS });
    clock.now += 1000;
    expect(await store.attempt('a@example.com')).toEqual({ count: 2, msLeft: WINDOW_MS - 1000 });
    await store.giveBack('a@example.com');
    expect(await store.attempt('a@example.com')).toEqual({ count: 2, msLeft: WINDOW_MS - 1000 });
    expect(await store.attempt('b@example.com')).toEqual({ count: 1, msLeft: WINDOW_MS });
  });

  it('starts a new window once the old one is over', async () => {
    const { clock, store } = storeAt(0);
    await store.attempt('a@example.com');
    await store.attempt('a@example.com');
    clock.now += WINDOW_MS;
    expect(await store.attempt('a@example.com')).toEqual({ count: 1, msLeft: WINDOW_MS });
  });

  it('forgets every address whose window is over', async () => {
    const { clock, store } = storeAt(0);
    for (let n = 0; n < 1000; n += 1) await store.attempt(`guess${n}@example.com`);
    expect(store.size).toBe(1000);
    clock.now += WINDOW_MS / 2;
    await store.attempt('late@example.com');
    expect(store.size).toBe(1001);

    clock.now += WINDOW_MS / 2;
    await store.attempt('later@example.com');
    // The first 1000 are gone; the late one has half its window left.
    expect(store.size).toBe(2);
    clock.now += WINDOW_MS;
    await store.giveBack('nobody@example.com');
    expect(store.size).toBe(0);
  });

  it('does not bring back an expired address when giving back', async () => {
    const { clock, store } = storeAt(0);
    await store.attempt('a@example.com');
    clock.now += WINDOW_MS;
    await store.giveBack('a@example.com');
    expect(store.size).toBe(0);
    expect(await store.attempt('a@example.com')).toEqual({ count: 1, msLeft: WINDOW_MS });
  });
});
