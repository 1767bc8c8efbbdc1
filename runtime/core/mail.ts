import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import { AppError } from './errors.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(msg: MailMessage): Promise<{ messageId: string }>;
}

/** Amazon SES (or the local SES stand-in) through @aws-sdk/client-ses. */
export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESClient,
    private readonly opts: { from: string; configurationSet?: string },
  ) {}

  async send(msg: MailMessage): Promise<{ messageId: string }> {
    try {
      const out = await this.ses.send(
        new SendEmailCommand({
          Source: this.opts.from,
          Destination: { ToAddresses: [msg.to] },
          Message: {
            Subject: { Data: msg.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: msg.text, Charset: 'UTF-8' }, Html: { Data: msg.html, Charset: 'UTF-8' } },
          },
          ...(this.opts.configurationSet ? { ConfigurationSetName: this.opts.configurationSet } : {}),
        }),
      );
      return { messageId: out.MessageId ?? 'unknown' };
    } catch (err) {
      throw new AppError('MAIL_FAILED', `email to ${msg.to} failed: ${(err as Error).name}`, { retryable: true }, { cause: err });
    }
  }
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
