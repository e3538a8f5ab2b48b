import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { RowByRowJob } from '@app/common';
import type { Environment } from '@app/config';
import { Metrics } from '@app/metrics';
import { MailTransport } from './mail-transport';
import { OrderMails } from './order-mails';
import { SentNotifications, type MailClaim } from './sent-notifications';

const EVERY_MS = 1_000;
const BATCH = 20;
/** While the mail server is unreachable, passes wait this long at most between tries. */
const OUTAGE_MAX_WAIT_MS = 60_000;

/**
 * Sends the claimed mails (SentNotifications), outside any transaction. A mail the server
 * refuses waits longer after each failure (RowBackoff), then is left for a human, so it never
 * holds back the others. A server that cannot be reached fails every mail alike: the pass
 * stops without counting it against the mail, and passes back off until the server answers.
 * Safe in every instance: a sender leases the mails it works on.
 */
@Injectable()
export class MailDeliveryJob extends RowByRowJob {
  private readonly sending = new Set<Promise<number>>();
  private outageWaitMs = 0;
  private outageUntil = 0;
  private readonly outageBaseMs: number;

  constructor(
    dataSource: DataSource,
    private readonly claims: SentNotifications,
    private readonly mails: OrderMails,
    private readonly transport: MailTransport,
    private readonly metrics: Metrics,
    config: ConfigService<Environment, true>,
  ) {
    super('Mail delivery', EVERY_MS, 'mail_delivery', dataSource, config);
    this.outageBaseMs = config.get('JOB_BACKOFF_BASE_MS', { infer: true });
  }

  /** Returns how many mails were sent (or found no longer owed). */
  async run(): Promise<number> {
    if (Date.now() < this.outageUntil) return 0;
    const due = await this.claims.lease({ limit: BATCH, dueSql: this.backoff.dueSql('s.id') });
    return this.deliver(due);
  }

  /** The fast path after a claim: this mail now, unless the server is known to be down. */
  async sendNow(claim: MailClaim): Promise<void> {
    if (Date.now() < this.outageUntil) return;
    const sending = this.claims
      .lease({ limit: 1, dueSql: this.backoff.dueSql('s.id'), id: claim.id })
      .then((leased) => this.deliver(leased));
    this.sending.add(sending);
    try {
      await sending;
    } finally {
      this.sending.delete(sending);
    }
  }

  /** Shutdown waits for the fast-path sends in flight, as for a pass of the job. */
  override async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.sending]);
    await super.onModuleDestroy();
  }

  private async deliver(leased: MailClaim[]): Promise<number> {
    if (leased.length === 0) return 0;
    const done = new Set<string>();
    try {
      return await this.backoff.forEach(
        leased,
        (claim) => claim.id,
        async (claim) => {
          try {
            await this.send(claim);
          } catch (error) {
            this.metrics.emailFailures.inc({
              reason: serverUnavailable(error) ? 'unavailable' : 'refused',
            });
            throw error;
          }
          done.add(claim.id);
        },
        (error) => {
          if (!serverUnavailable(error)) return false;
          this.outageWaitMs = Math.min(
            Math.max(this.outageWaitMs * 2, this.outageBaseMs),
            OUTAGE_MAX_WAIT_MS,
          );
          this.outageUntil = Date.now() + this.outageWaitMs;
          return true;
        },
      );
    } finally {
      await this.claims.release(leased.filter((claim) => !done.has(claim.id)).map((c) => c.id));
    }
  }

  private async send(claim: MailClaim): Promise<void> {
    const mail = await this.mails.compose(claim.orderId, claim.kind);
    if (!mail) {
      await this.claims.markSkipped(claim.id);
      this.logger.log(`No ${claim.kind} mail for order ${claim.orderId}: no longer applies`);
      return;
    }
    const { messageId } = await this.transport.send(mail);
    this.outageWaitMs = 0;
    this.metrics.emailsSent.inc({ kind: claim.kind });
    await this.claims.markSent(claim.id, {
      recipient: mail.to.address,
      subject: mail.subject,
      messageId,
    });
  }
}

/**
 * Connection-level failures (refused, timed out, TLS, DNS) and 421 "service not available"
 * mean no mail can go now; a reply about this mail (5xx, other 4xx) is the mail's own.
 */
function serverUnavailable(error: unknown): boolean {
  const { code, responseCode } = (error ?? {}) as { code?: string; responseCode?: number };
  return (
    responseCode === 421 ||
    (responseCode === undefined &&
      ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL'].includes(code ?? ''))
  );
}
