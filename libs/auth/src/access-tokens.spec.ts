import jsonwebtoken from 'jsonwebtoken';
import { AccessTokens } from './access-tokens';
import { JwtSecret } from './jwt-secret';

describe('AccessTokens', () => {
  const secret = new JwtSecret('unit-test-secret-unit-test-secret-0123456789');
  const NOW_MS = Date.UTC(2026, 0, 1, 12);
  let tokens: AccessTokens;
  let verify: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW_MS });
    tokens = new AccessTokens(secret);
    verify = jest.spyOn(jsonwebtoken, 'verify');
  });
  afterEach(() => {
    verify.mockRestore();
    jest.useRealTimers();
  });

  function tokenFor(sub: string, expiresInSeconds: number, key = secret.key): string {
    return jsonwebtoken.sign({ sub, role: 'customer' }, key, {
      algorithm: 'HS256',
      expiresIn: expiresInSeconds,
    });
  }

  it('verifies a token once, then answers its caller from memory until it expires', () => {
    const token = tokenFor('buyer-1', 60);

    for (let i = 0; i < 5; i++)
      expect(tokens.callerOfHeader(`Bearer ${token}`)).toEqual({ id: 'buyer-1', role: 'customer' });
    expect(verify).toHaveBeenCalledTimes(1);

    jest.setSystemTime(NOW_MS + 59_999);
    expect(tokens.callerOfHeader(`Bearer ${token}`)).toEqual({ id: 'buyer-1', role: 'customer' });
    // At its expiry second the token is refused, as jsonwebtoken refuses it.
    jest.setSystemTime(NOW_MS + 60_000);
    expect(tokens.callerOfHeader(`Bearer ${token}`)).toBeNull();
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('remembers each token apart: another buyer, or a token signed with another key, is verified', () => {
    const first = tokenFor('buyer-1', 60);
    const second = tokenFor('buyer-2', 60);
    const forged = tokenFor(
      'buyer-1',
      60,
      new JwtSecret('another-secret-another-secret-0123456').key,
    );

    expect(tokens.callerOfHeader(`Bearer ${first}`)?.id).toBe('buyer-1');
    expect(tokens.callerOfHeader(`Bearer ${second}`)?.id).toBe('buyer-2');
    expect(tokens.callerOfHeader(`Bearer ${forged}`)).toBeNull();
    expect(tokens.callerOfHeader(`Bearer ${forged}`)).toBeNull();
    expect(verify).toHaveBeenCalledTimes(4);
  });

  it('refuses other schemes, malformed tokens and unknown roles, and never remembers them', () => {
    const token = tokenFor('buyer-1', 60);
    const unknownRole = jsonwebtoken.sign({ sub: 'x', role: 'owner' }, secret.key, {
      algorithm: 'HS256',
      expiresIn: 60,
    });

    expect(tokens.callerOfHeader(undefined)).toBeNull();
    expect(tokens.callerOfHeader(`Basic ${token}`)).toBeNull();
    expect(tokens.callerOfHeader('Bearer not.a.token')).toBeNull();
    expect(tokens.callerOfHeader(`Bearer ${unknownRole}`)).toBeNull();
    expect(tokens.callerOfHeader(`Bearer ${unknownRole}`)).toBeNull();
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('hands out a caller nobody can change for the next request', () => {
    const token = tokenFor('buyer-1', 60);
    const caller = tokens.callerOfHeader(`Bearer ${token}`)!;

    expect(() => Object.assign(caller, { role: 'admin' })).toThrow(TypeError);
    expect(tokens.callerOfHeader(`Bearer ${token}`)).toEqual({ id: 'buyer-1', role: 'customer' });
  });
});
