/** The server's time zone (its TZ; UTC when unset): tickets and mails show times in it. */
export const SERVER_TIME_ZONE = new Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * A moment as people read it, in a time zone that is named so nobody has to guess:
 * "Sat, 14 March 2026 at 20:00 (Europe/Paris)". One format for the ticket and the mails.
 */
export function formatWhen(moment: Date, timeZone: string): string {
  const when = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(moment);
  return `${when} (${timeZone})`;
}
