import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { createTransport, type SendMailOptions, type Transporter } from 'nodemailer';

/** A mail ready to go: addresses, subject, both bodies, attachments (inline ones by cid). */
export type OutgoingMail = Omit<SendMailOptions, 'to' | 'subject'> & {
  to: { name: string; address: string };
  subject: string;
};

export interface SentMail {
  messageId: string;
}

/**
 * Where the buyer's emails go: an SMTP server (SMTP_URL), or with none configured the log
 * and, in embedded mode, `.eml` files a developer opens in a mail client.
 */
export abstract class MailTransport {
  abstract send(mail: OutgoingMail): Promise<SentMail>;

  /** Closes connections at shutdown. */
  abstract onModuleDestroy(): void;
}

export class SmtpMailTransport extends MailTransport {
  private readonly transporter: Transporter;

  constructor(url: string) {
    super();
    // Bounded waits, so a server that hangs costs one attempt, not the job.
    this.transporter = createTransport({
      url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    const info = (await this.transporter.sendMail(mail)) as { messageId: string };
    return { messageId: info.messageId };
  }

  onModuleDestroy(): void {
    this.transporter.close();
  }
}

/** No SMTP server: the mail is logged, and written as an `.eml` file when `directory` is set. */
export class LocalMailTransport extends MailTransport {
  private readonly logger = new Logger('Mail');
  // Builds the raw RFC 5322 message, exactly what an SMTP server would have received.
  private readonly builder = createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
  });

  constructor(private readonly directory?: string) {
    super();
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    const info = (await this.builder.sendMail(mail)) as { messageId: string; message: Buffer };
    if (!this.directory) {
      this.logger.log(`Not sent (no SMTP_URL): "${mail.subject}" to ${mail.to.address}`);
      return { messageId: info.messageId };
    }
    await mkdir(this.directory, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^\w.-]/g, '')}.eml`;
    const file = join(this.directory, name);
    // Written aside, then renamed: a reader never sees half a message.
    await writeFile(`${file}.partial`, info.message);
    await rename(`${file}.partial`, file);
    this.logger.log(
      `Not sent (no SMTP_URL): "${mail.subject}" to ${mail.to.address}, written to ${resolve(file)}`,
    );
    return { messageId: info.messageId };
  }

  onModuleDestroy(): void {
    this.builder.close();
  }
}
