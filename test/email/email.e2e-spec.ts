import { createCanvas, loadImage } from '@napi-rs/canvas';
import jsQR from 'jsqr';
import { MailDeliveryJob, OrderMailConsumer } from '@app/notifications';
import { HoldExpiryJob } from '@app/orders';
import { Outbox, type PaymentNotification } from '@app/outbox';
import { createEvent, type TestEvent } from '../support/booking';
import { eventually } from '../support/eventually';
import { follow, holdTickets, startPaymentsApp, type HeldOrder } from '../support/payments-helpers';
import { renderMail } from '../support/mail-browser';
import { TestSmtpServer, type ReceivedMail } from '../support/smtp-server';
import { readPdf } from '../support/tickets';
import { createUser, type TestApp, type TestUser } from '../support/test-app';

interface SentRow {
  kind: string;
  status: string;
  recipient: string | null;
  subject: string | null;
}

/**
 * The buyer's emails through a real SMTP server the suite starts: what each mail says and
 * carries, once per order state whatever is redelivered, retried while the server is down,
 * and one failing mailbox never holds up the others.
 */
describe('email notifications', () => {
  const smtp = new TestSmtpServer();
  let testApp: TestApp;
  let admin: TestUser;
  let event: TestEvent;

  beforeAll(async () => {
    await smtp.start();
    testApp = await startPaymentsApp('email', {
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Night Shop <tickets@shop.test>',
      SHOP_NAME: 'Night Shop',
      JOB_BACKOFF_BASE_MS: '100',
      JOB_BACKOFF_MAX_MS: '400',
      JOB_MAX_ATTEMPTS: '4',
    });
    admin = await createUser(testApp, { admin: true });
    event = await createEvent(testApp, admin, {
      name: `Rock & <Roll> "Night"`,
      venue: 'Hall; Main, Floor',
      startsAt: '2030-06-01T19:30:00.000Z',
      currency: 'eur',
      ticketTypes: [{ name: 'Stalls <front>', price: 4250, quantity: 50 }],
    });
  });
  afterAll(async () => {
    await testApp?.close();
    await smtp.stop();
  });

  /** The order's payment_notifications messages, as they stand in the outbox. */
  function notificationsOf(
    orderId: string,
  ): Promise<{ id: string; payload: PaymentNotification; at: Date }[]> {
    return testApp.dataSource.query(
      `SELECT id::text, payload, created_at AS at FROM outbox
       WHERE topic = 'payment_notifications' AND payload->>'orderId' = $1 ORDER BY id`,
      [orderId],
    );
  }

  /** The message handed to the consumer again, as the bus does after a crash. */
  function redeliver(row: { id: string; payload: PaymentNotification; at: Date }) {
    return testApp.app
      .get(OrderMailConsumer)
      .handle({ ...row.payload, outboxId: row.id, at: row.at.toISOString() });
  }

  async function pay(held: HeldOrder): Promise<void> {
    const checkout = await follow(testApp, held.checkoutUrl).expect(303);
    const path = new URL(checkout.headers.location).pathname;
    await testApp.http().post(`${path}/pay`).set('Content-Type', 'text/plain').send('').expect(303);
  }

  async function sentRows(orderId: string): Promise<SentRow[]> {
    return testApp.dataSource.query(
      `SELECT kind, status, recipient, subject FROM sent_notifications WHERE order_id = $1 ORDER BY kind`,
      [orderId],
    );
  }

  /** The rows once none is pending (the server accepts a mail just before the row is marked). */
  function settledRows(orderId: string): Promise<SentRow[]> {
    return eventually(
      async () => {
        const rows = await sentRows(orderId);
        return rows.length > 0 && rows.every((row) => row.status !== 'pending') && rows;
      },
      { what: `the mails of ${orderId} settled` },
    );
  }

  async function mailsTo(address: string, count = 1): Promise<ReceivedMail[]> {
    return eventually(
      () => {
        const mails = smtp.to(address);
        return Promise.resolve(mails.length >= count && mails);
      },
      { what: `${count} mail(s) to ${address}`, timeoutMs: 15_000 },
    );
  }

  /** What a phone camera reads off a PNG QR code. */
  async function scan(png: Buffer): Promise<string | null> {
    const image = await loadImage(png);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height);
    return jsQR(pixels.data, image.width, image.height)?.data ?? null;
  }

  it('a paid order gets one confirmation: the tickets PDF attached, QR codes inline, the calendar entry', async () => {
    const held = await holdTickets(testApp, event, 2);
    await pay(held);
    const [mail] = await mailsTo(held.buyer.email);

    expect(mail.subject).toBe('Your tickets for Rock & <Roll> "Night"');
    expect(mail.headers.from).toBe('Night Shop <tickets@shop.test>');
    expect(mail.text).toContain('Rock & <Roll> "Night"');
    expect(mail.text).toContain('Total paid: €85.00');
    expect(mail.html).toContain('Rock &amp; &lt;Roll&gt; &quot;Night&quot;');
    expect(mail.html).toContain('Stalls &lt;front&gt;');
    expect(mail.html).not.toContain('<Roll>');
    expect(mail.html).toContain('€85.00');
    expect(mail.html).toContain('Night Shop');

    const { body: issued } = await testApp
      .http()
      .get(`/api/v1/orders/${held.orderId}/tickets`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    const codes = (issued as { code: string }[]).map((ticket) => ticket.code);
    expect(codes).toHaveLength(2);

    const pdf = mail.leaves.find((part) => part.contentType === 'application/pdf');
    expect(pdf?.headers['content-disposition']).toMatch(/^attachment; filename=tickets\.pdf/);
    const printed = await readPdf(pdf!.body);
    expect(printed.pages).toBe(2);
    expect(printed.text).toContain(held.orderId);
    expect(printed.qrCodes).toEqual(codes);

    // Each QR code inline, referenced from the HTML by its Content-ID, scanning to its ticket.
    const inline = mail.leaves.filter((part) => part.contentType === 'image/png');
    expect(inline).toHaveLength(2);
    const scanned: string[] = [];
    for (const image of inline) {
      expect(image.headers['content-disposition']).toMatch(/^inline/);
      const cid = image.headers['content-id'].replace(/^<|>$/g, '');
      expect(mail.html).toContain(`src="cid:${cid}"`);
      scanned.push((await scan(image.body))!);
    }
    expect(scanned.sort()).toEqual([...codes].sort());

    const ics = mail.leaves.find((part) => part.contentType === 'text/calendar');
    expect(ics).toBeDefined();
    const calendar = ics!.body.toString('utf8');
    expect(calendar).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(calendar).toContain('\r\nDTSTART:20300601T193000Z\r\n');
    expect(calendar).toContain(`\r\nUID:order-${held.orderId}@localhost\r\n`);
    expect(calendar).toContain('\r\nLOCATION:Hall\\; Main\\, Floor\r\n');
    expect(calendar.split('\r\n').every((line) => Buffer.byteLength(line) <= 75)).toBe(true);

    expect(await settledRows(held.orderId)).toEqual([
      {
        kind: 'confirmed',
        status: 'sent',
        recipient: held.buyer.email,
        subject: 'Your tickets for Rock & <Roll> "Night"',
      },
    ]);
  });

  it("the confirmation reads like a shop's mail in a browser, on a desktop and a phone", async () => {
    const held = await holdTickets(testApp, event, 2);
    await pay(held);
    const [mail] = await mailsTo(held.buyer.email);

    const desktop = await renderMail(mail, {
      width: 800,
      screenshot: '.data/test/mail/confirmation.png',
    });
    expect(desktop.visibleText).toContain("You're going!");
    expect(desktop.visibleText).toContain('Rock & <Roll> "Night"');
    expect(desktop.visibleText).toContain('€85.00');
    expect(desktop.overflows).toBe(false);
    expect(desktop.images).toHaveLength(2);
    for (const image of desktop.images) {
      expect(image.naturalWidth).toBeGreaterThan(0);
      expect(image.alt).toMatch(/^QR code of ticket /);
    }
    const phone = await renderMail(mail, { width: 375 });
    expect(phone.overflows).toBe(false);
  });

  it('the same message delivered again sends nothing more', async () => {
    const held = await holdTickets(testApp, event, 1);
    await pay(held);
    await mailsTo(held.buyer.email);
    const [message] = await notificationsOf(held.orderId);

    // The relay publishes it again (as after a crash before marking it), and the bus hands
    // it to the consumer again, several times at once.
    await testApp.dataSource.query(`UPDATE outbox SET published_at = NULL WHERE id = $1`, [
      message.id,
    ]);
    await Promise.all(Array.from({ length: 5 }, () => redeliver(message)));
    await eventually(
      async () => {
        const [row]: { published: boolean }[] = await testApp.dataSource.query(
          `SELECT published_at IS NOT NULL AS published FROM outbox WHERE id = $1`,
          [message.id],
        );
        return row.published;
      },
      { what: 'the message published again' },
    );
    await testApp.app.get(MailDeliveryJob).run();

    expect(smtp.to(held.buyer.email)).toHaveLength(1);
    expect(await sentRows(held.orderId)).toHaveLength(1);
  });

  it('a mail server that is down for a while: the mail arrives once after it is back', async () => {
    smtp.available = false;
    const refusedBefore = smtp.refusedConnections;
    const held = await holdTickets(testApp, event, 1);
    await pay(held);
    // Tried on claim, then again by the job after a backoff.
    await eventually(() => Promise.resolve(smtp.refusedConnections >= refusedBefore + 2), {
      what: 'two refused attempts',
      timeoutMs: 15_000,
    });
    expect(smtp.to(held.buyer.email)).toHaveLength(0);
    expect(await sentRows(held.orderId)).toEqual([
      expect.objectContaining({ kind: 'confirmed', status: 'pending' }),
    ]);

    smtp.available = true;
    await mailsTo(held.buyer.email);
    await testApp.app.get(MailDeliveryJob).run();
    expect(smtp.to(held.buyer.email)).toHaveLength(1);
    expect(await settledRows(held.orderId)).toEqual([
      expect.objectContaining({ kind: 'confirmed', status: 'sent' }),
    ]);
  });

  it("a mailbox that refuses its mail holds up no one else's; it is retried, then left for a human", async () => {
    const refused = await holdTickets(testApp, event, 1);
    smtp.rejectedRecipients.add(refused.buyer.email);
    await pay(refused);
    const others = await Promise.all([1, 2, 3].map(() => holdTickets(testApp, event, 1)));
    for (const held of others) await pay(held);

    for (const held of others) await mailsTo(held.buyer.email);
    const [claim]: { id: string }[] = await testApp.dataSource.query(
      `SELECT id FROM sent_notifications WHERE order_id = $1`,
      [refused.orderId],
    );
    const attempts = await eventually(
      async () => {
        const [row]: { attempts: number; attention: boolean }[] = await testApp.dataSource.query(
          `SELECT attempts, attention_at IS NOT NULL AS attention FROM job_row_attempts
           WHERE job = 'mail_delivery' AND row_id = $1`,
          [claim.id],
        );
        return row?.attention && row;
      },
      { what: 'the refused mail left for a human', timeoutMs: 15_000 },
    );
    expect(attempts.attempts).toBe(4);
    expect(smtp.refusedRecipients).toBeGreaterThanOrEqual(4);
    expect(smtp.to(refused.buyer.email)).toHaveLength(0);
    await expect(testApp.app.get(MailDeliveryJob).needingAttention()).resolves.toBe(1);
    // Visible to monitoring: the failures, and the mail left for a human.
    const metrics = (await testApp.http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^ticketing_job_rows_needing_attention\{job="mail_delivery"\} 1$/m);
    const refusals = /^ticketing_email_failures_total\{reason="refused"\} (\d+)$/m.exec(metrics);
    expect(Number(refusals?.[1])).toBeGreaterThanOrEqual(4);
    expect(metrics).toMatch(/^ticketing_emails_sent_total\{kind="confirmed"\} [1-9]\d*$/m);

    // A human fixes the mailbox and clears the mark: the mail goes, once.
    smtp.rejectedRecipients.delete(refused.buyer.email);
    await testApp.dataSource.query(`DELETE FROM job_row_attempts WHERE row_id = $1`, [claim.id]);
    await mailsTo(refused.buyer.email);
    expect(await settledRows(refused.orderId)).toEqual([
      expect.objectContaining({ kind: 'confirmed', status: 'sent' }),
    ]);
  });

  it('a refund is mailed after the confirmation', async () => {
    const held = await holdTickets(testApp, event, 1);
    await pay(held);
    await mailsTo(held.buyer.email);
    await testApp
      .http()
      .post(`/api/v1/orders/${held.orderId}/cancel`)
      .set('Authorization', `Bearer ${held.buyer.token}`)
      .expect(200);
    const [, mail] = await mailsTo(held.buyer.email, 2);
    expect(mail.subject).toBe('Your refund for Rock & <Roll> "Night"');
    expect(mail.text).toContain('Refunded: €42.50');
  });

  it('a declined payment is mailed', async () => {
    const held = await holdTickets(testApp, event, 1);
    const checkout = await follow(testApp, held.checkoutUrl).expect(303);
    const path = new URL(checkout.headers.location).pathname;
    await testApp.http().post(`${path}/decline`).set('Content-Type', 'text/plain').send('');
    const [mail] = await mailsTo(held.buyer.email);
    expect(mail.subject).toBe('Your payment for Rock & <Roll> "Night" did not go through');
    expect(mail.text).toContain('no money was taken');
  });

  it('an expired hold is mailed only when the buyer had opened the checkout link', async () => {
    const opened = await holdTickets(testApp, event, 1);
    await follow(testApp, opened.checkoutUrl).expect(303);
    const untouched = await holdTickets(testApp, event, 1);
    await testApp.dataSource.query(
      `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
      [[opened.orderId, untouched.orderId]],
    );
    await testApp.app.get(HoldExpiryJob).run();

    const [mail] = await mailsTo(opened.buyer.email);
    expect(mail.subject).toBe('Your tickets for Rock & <Roll> "Night" were released');
    await testApp.app.get(MailDeliveryJob).run();
    // Nothing was written for the untouched hold, so nothing can ever be sent.
    expect(await notificationsOf(untouched.orderId)).toEqual([]);
    expect(await notificationsOf(opened.orderId)).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ type: 'expired' }) }),
    ]);
    expect(smtp.to(untouched.buyer.email)).toHaveLength(0);
    expect(await sentRows(untouched.orderId)).toEqual([]);
  });

  /** As the waitlist and the event cancellation write them (the contract's shape). */
  async function notify(type: PaymentNotification['type'], held: HeldOrder): Promise<void> {
    await Outbox.write(testApp.dataSource.manager, {
      topic: 'payment_notifications',
      payload: {
        type,
        orderId: held.orderId,
        userId: held.buyer.id,
        eventId: event.id,
        amount: 4250,
        currency: 'eur',
      },
    });
  }

  it('a waitlist offer carries a working checkout link and its deadline', async () => {
    const held = await holdTickets(testApp, event, 1);
    await notify('waitlist_offer', held);
    const [mail] = await mailsTo(held.buyer.email);

    expect(mail.subject).toBe('Tickets for Rock & <Roll> "Night" are waiting for you');
    const link = /Pay here: (\S+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    expect(mail.html).toContain(`href="${link!.replace(/&/g, '&amp;')}"`);
    const [{ expiresAt }]: { expiresAt: Date }[] = await testApp.dataSource.query(
      `SELECT expires_at AS "expiresAt" FROM orders WHERE id = $1`,
      [held.orderId],
    );
    expect(mail.text).toContain(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'UTC',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(expiresAt),
    );
    // The buyer follows it to pay.
    const response = await follow(testApp, link!).expect(303);
    expect(response.headers.location).toMatch(/\/api\/v1\/payments\/simulator\//);
  });

  it('a waitlist offer that ended before it could be sent is skipped', async () => {
    const held = await holdTickets(testApp, event, 1);
    await testApp.dataSource.query(
      `UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [held.orderId],
    );
    await notify('waitlist_offer', held);
    await eventually(async () => (await sentRows(held.orderId))[0]?.status === 'skipped', {
      what: 'the offer mail skipped',
    });
    expect(smtp.to(held.buyer.email)).toHaveLength(0);
  });

  it('a cancelled event tells a paid buyer the refund is on its way, and the refund sends no second mail', async () => {
    const held = await holdTickets(testApp, event, 1);
    await pay(held);
    await mailsTo(held.buyer.email);
    const cancelled = await createEvent(testApp, admin, { name: 'Gone Tomorrow' });
    await testApp.dataSource.query(`UPDATE events SET status = 'cancelled' WHERE id = $1`, [
      cancelled.id,
    ]);
    await testApp.dataSource.query(`UPDATE orders SET event_id = $2 WHERE id = $1`, [
      held.orderId,
      cancelled.id,
    ]);
    await notify('event_cancelled', held);
    await notify('refunded', held);

    const [, mail] = await mailsTo(held.buyer.email, 2);
    expect(mail.subject).toBe('Gone Tomorrow is cancelled');
    // Whenever the refund message comes, it claims nothing.
    for (const message of await notificationsOf(held.orderId)) await redeliver(message);
    expect(mail.text).toContain('Your refund of €42.50 is on its way');
    await testApp.app.get(MailDeliveryJob).run();
    expect(smtp.to(held.buyer.email)).toHaveLength(2);
    expect((await sentRows(held.orderId)).map((row) => row.kind)).toEqual([
      'confirmed',
      'event_cancelled',
    ]);
  });
});
