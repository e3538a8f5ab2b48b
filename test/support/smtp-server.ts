import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { parseMail, type ParsedMail } from './mime';

export interface ReceivedMail extends ParsedMail {
  envelopeTo: string[];
  raw: Buffer;
}

type SmtpError = Error & { responseCode?: number };

function smtpError(message: string, responseCode: number): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * A real SMTP server for the tests (smtp-server), keeping what it receives. It can be made
 * unavailable (every connection answered 421, as a server in maintenance does) and can
 * refuse chosen recipients (550) to give single mails a failure of their own.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  readonly rejectedRecipients = new Set<string>();
  available = true;
  /** Connections answered 421 while unavailable. */
  refusedConnections = 0;
  /** RCPT TO commands refused with 550. */
  refusedRecipients = 0;
  private server?: SMTPServer;
  private port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const options: SMTPServerOptions = {
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onConnect: (_session, callback) => {
        if (this.available) return callback();
        this.refusedConnections += 1;
        callback(smtpError('Service not available, try again later', 421));
      },
      onRcptTo: (address, _session, callback) => {
        if (!this.rejectedRecipients.has(address.address.toLowerCase())) return callback();
        this.refusedRecipients += 1;
        callback(smtpError('Mailbox unavailable', 550));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          this.received.push({
            ...parseMail(raw),
            raw,
            envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          });
          callback();
        });
      },
    };
    this.server = new SMTPServer(options);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  /** Mails received for this address. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.envelopeTo.includes(address.toLowerCase()));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
