import { calendarEntry } from './calendar-entry';

describe('calendarEntry (RFC 5545)', () => {
  const entry = calendarEntry(
    {
      uid: 'order-1b2c@shop.test',
      title: 'Rock, Roll; and \\ more\nNight',
      location: 'Hall; Main, Floor',
      startsAt: new Date('2030-06-01T19:30:00.000Z'),
      durationMinutes: 180,
      description: `Ünïcödé ${'é'.repeat(60)} two tickets`,
      organizer: { name: 'Night "Shop"', email: 'tickets@shop.test' },
    },
    new Date('2026-12-02T10:00:00.500Z'),
  );
  const lines = entry.split('\r\n');

  it('uses CRLF line endings and ends with one', () => {
    expect(entry.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(entry.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('writes times in UTC and a stable UID', () => {
    expect(lines).toContain('DTSTART:20300601T193000Z');
    expect(lines).toContain('DTEND:20300601T223000Z');
    expect(lines).toContain('DTSTAMP:20261202T100000Z');
    expect(lines).toContain('UID:order-1b2c@shop.test');
  });

  it('escapes text values and quotes parameters', () => {
    expect(lines).toContain('SUMMARY:Rock\\, Roll\\; and \\\\ more\\nNight');
    expect(lines).toContain('LOCATION:Hall\\; Main\\, Floor');
    expect(lines).toContain('ORGANIZER;CN="Night Shop":mailto:tickets@shop.test');
  });

  it('folds lines at 75 octets without cutting a UTF-8 character', () => {
    expect(lines.every((line) => Buffer.byteLength(line, 'utf8') <= 75)).toBe(true);
    const unfolded = entry.replace(/\r\n /g, '');
    expect(unfolded).toContain(`DESCRIPTION:Ünïcödé ${'é'.repeat(60)} two tickets`);
    expect(entry).not.toContain('\uFFFD');
  });
});
