import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { follow, holdTickets, orderState, eventually, type HeldOrder } from './payments-helpers';
import type { TestEvent } from './booking';
import { ROOT } from './processes';
import { createUser, type TestApp, type TestUser } from './test-app';

/** Pays a held order through the payment simulator, as a buyer's browser would. */
export async function payThroughSimulator(testApp: TestApp, held: HeldOrder): Promise<void> {
  const checkout = await follow(testApp, held.checkoutUrl).expect(303);
  const simulatorPage = new URL(checkout.headers.location).pathname;
  await testApp
    .http()
    .post(`${simulatorPage}/pay`)
    .set('Content-Type', 'text/plain')
    .send('')
    .redirects(0)
    .expect(303);
  await eventually('the order to be confirmed', async () =>
    (await orderState(testApp.dataSource, held.orderId)).status === 'confirmed' ? true : undefined,
  );
}

/** A fresh buyer's confirmed order of `quantity` tickets of the event's first type. */
export async function confirmedOrder(
  testApp: TestApp,
  event: TestEvent,
  quantity = 1,
): Promise<HeldOrder> {
  const held = await holdTickets(testApp, event, quantity);
  await payThroughSimulator(testApp, held);
  return held;
}

/** A fresh user with the `staff` role (as `npm run cli -- staff grant` gives it). */
export async function createStaff(testApp: TestApp): Promise<TestUser> {
  const user = await createUser(testApp);
  await testApp.dataSource.query(`UPDATE users SET role = 'staff' WHERE id = $1`, [user.id]);
  return user;
}

export interface PublishedKey {
  id: string;
  algorithm: string;
  publicKey: string;
  createdAt: string;
}

export type VerifyTicketCode = (
  code: string,
  keys: PublishedKey[],
  revokedCodes: string[],
) => { ticketId: string; eventId: string; orderId: string } | null;

/** The offline verifier of examples/verify-ticket-code.js, the file scanner developers copy. */
export function exampleVerifier(): VerifyTicketCode {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const example = require(join(ROOT, 'examples', 'verify-ticket-code.js')) as {
    verifyTicketCode: VerifyTicketCode;
  };
  return example.verifyTicketCode;
}

export interface ReadPdf {
  text: string;
  pages: number;
  /** What each page's QR code decodes to, as a camera would read it off the rendered page. */
  qrCodes: (string | null)[];
}

/** Parses and renders a PDF in a child process (see read-pdf.js). */
export function readPdf(pdf: Buffer): Promise<ReadPdf> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'read-pdf.js')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(stdout) as ReadPdf) : reject(new Error(stderr)),
    );
    child.stdin.end(pdf);
  });
}
