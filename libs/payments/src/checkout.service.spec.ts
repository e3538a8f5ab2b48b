import { sessionExpiry } from './checkout.service';

const MINUTE = 60_000;
const NOW = Date.parse('2026-03-01T12:00:20Z');

describe('sessionExpiry', () => {
  it('a hold shorter than Stripe’s 30-minute minimum: the minimum, rounded up to the minute', () => {
    expect(sessionExpiry(new Date(NOW + 10 * MINUTE), NOW).toISOString()).toBe(
      '2026-03-01T12:31:00.000Z',
    );
  });

  it('clicks within the same minute get the same expiry (the same idempotent request)', () => {
    const hold = new Date(NOW + 10 * MINUTE);
    expect(sessionExpiry(hold, NOW + 30_000)).toEqual(sessionExpiry(hold, NOW));
  });

  it('a longer hold: the hold’s end', () => {
    const hold = new Date(NOW + 90 * MINUTE);
    expect(sessionExpiry(hold, NOW)).toEqual(hold);
  });

  it('never later than Stripe’s 24-hour maximum', () => {
    expect(sessionExpiry(new Date(NOW + 25 * 60 * MINUTE), NOW).getTime()).toBe(
      NOW + 24 * 60 * MINUTE,
    );
  });
});
