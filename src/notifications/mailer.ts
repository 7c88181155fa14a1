import nodemailer from 'nodemailer';

export type Mailer = ReturnType<typeof nodemailer.createTransport>;

/** The SMTP transport of `SMTP_URL`, with the delivery timeout on connect, greeting and socket. */
export function createMailer(smtpUrl: string, timeoutMs: number): Mailer {
  return nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: 3 * timeoutMs,
  } as Parameters<typeof nodemailer.createTransport>[0]);
}
