/** Addresses are stored and compared lower-cased and trimmed: one rule for the server and the CLI. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
