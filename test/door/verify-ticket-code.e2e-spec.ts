import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type TestEvent } from '../support/booking';
import { startPaymentsApp } from '../support/payments-helpers';
import { ROOT } from '../support/processes';
import { createUser, type TestApp, type TestUser } from '../support/test-app';
import { confirmedOrder, createStaff } from '../support/tickets';

const EXAMPLE = join(ROOT, 'examples', 'verify-ticket-code.js');

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the example as a scanner developer would: `node examples/verify-ticket-code.js …`. */
function runExample(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EXAMPLE, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/**
 * examples/verify-ticket-code.js, run as a child process on what the real app publishes: the
 * codes of a ticket bought and paid through the payment simulator, the keys and the revoked list.
 */
describe('examples/verify-ticket-code.js', () => {
  let testApp: TestApp;
  let admin: TestUser;
  let staff: TestUser;
  let event: TestEvent;
  let otherEvent: TestEvent;
  let folder: string;

  beforeAll(async () => {
    testApp = await startPaymentsApp('verify_example');
    admin = await createUser(testApp, { admin: true });
    staff = await createStaff(testApp);
    event = await createEvent(testApp, admin);
    otherEvent = await createEvent(testApp, admin);
    folder = mkdtempSync(join(tmpdir(), 'verify-ticket-code-'));
  }, 120_000);
  afterAll(async () => {
    await testApp?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** Saves an answer of the API to a file, as a scanner does before the doors open. */
  async function save(name: string, path: string, caller?: TestUser): Promise<string> {
    const request = testApp.http().get(path);
    if (caller) request.set('Authorization', `Bearer ${caller.token}`);
    const file = join(folder, name);
    writeFileSync(file, (await request.expect(200)).text);
    return file;
  }

  /** The codes of a fresh buyer's paid order of `quantity` tickets. */
  async function paidCodes(quantity: number) {
    const held = await confirmedOrder(testApp, event, quantity);
    const tickets = (
      await testApp
        .http()
        .get(`/api/v1/orders/${held.orderId}/tickets`)
        .set('Authorization', `Bearer ${held.buyer.token}`)
        .expect(200)
    ).body as { id: string; code: string }[];
    return { held, tickets };
  }

  it('admits a paid ticket of this event and refuses a forged code, offline', async () => {
    const { held, tickets } = await paidCodes(1);
    const [ticket] = tickets;
    const keys = await save('keys.json', '/api/v1/check-in/keys');
    const revoked = await save(
      'revoked.json',
      `/api/v1/events/${event.id}/check-in/revoked`,
      staff,
    );
    const check = (code: string, eventId = event.id) =>
      runExample(['--keys', keys, '--revoked', revoked, '--event', eventId, code]);

    const admitted = await check(ticket.code);
    expect(admitted).toEqual({ exitCode: 0, stdout: expect.any(String), stderr: '' });
    expect(JSON.parse(admitted.stdout)).toEqual({
      verdict: 'admit',
      ticketId: ticket.id,
      eventId: event.id,
      orderId: held.orderId,
    });

    // One bit of the signature flipped: what a forger or a damaged print produces.
    const bytes = Buffer.from(ticket.code, 'base64url');
    bytes[100] ^= 0x01;
    const forged = await check(bytes.toString('base64url'));
    expect(forged.exitCode).toBe(1);
    expect(JSON.parse(forged.stdout)).toEqual({ verdict: 'unknown_code' });
    // Another claim in the signed part, signature kept: a code for a ticket nobody bought.
    const claimed = Buffer.from(ticket.code, 'base64url');
    claimed[10] ^= 0x01;
    expect(JSON.parse((await check(claimed.toString('base64url'))).stdout)).toEqual({
      verdict: 'unknown_code',
    });
    const truncated = await check(ticket.code.slice(0, 150));
    expect(JSON.parse(truncated.stdout)).toEqual({ verdict: 'unknown_code' });

    const elsewhere = await check(ticket.code, otherEvent.id);
    expect(elsewhere.exitCode).toBe(1);
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({
      verdict: 'wrong_event',
      ticketId: ticket.id,
    });

    // The server agrees with the example on the genuine code.
    await testApp
      .http()
      .post(`/api/v1/events/${event.id}/check-ins`)
      .set('Authorization', `Bearer ${staff.token}`)
      .send({ code: ticket.code })
      .expect(201);
  });

  it('refuses the codes of a refunded order once the revoked list is saved again', async () => {
    const { held, tickets } = await paidCodes(2);
    const keys = await save('keys.json', '/api/v1/check-in/keys');
    const before = await save('before.json', `/api/v1/events/${event.id}/check-in/revoked`, staff);
    for (const ticket of tickets) {
      const run = await runExample(['--keys', keys, '--revoked', before, ticket.code]);
      expect(JSON.parse(run.stdout)).toMatchObject({ verdict: 'admit', ticketId: ticket.id });
    }

    await testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    const after = await save('after.json', `/api/v1/events/${event.id}/check-in/revoked`, staff);
    for (const ticket of tickets) {
      const run = await runExample(['--keys', keys, '--revoked', after, ticket.code]);
      expect(run.exitCode).toBe(1);
      expect(JSON.parse(run.stdout)).toEqual({
        verdict: 'revoked',
        ticketId: ticket.id,
        eventId: event.id,
        orderId: held.orderId,
      });
    }
  });

  it('says how to call it when the keys or the code are missing (exit status 2)', async () => {
    for (const args of [[], ['some-code'], ['--keys', 'keys.json'], ['--nope', 'x', 'code']]) {
      const run = await runExample(args);
      expect(run.exitCode).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('usage: node verify-ticket-code.js --keys keys.json');
    }
  });
});
