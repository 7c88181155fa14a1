import { SMTPServer } from 'smtp-server';

/** A mail the sink received: the envelope's sender and recipients, and the raw message. */
export interface SunkMail {
  from: string;
  to: string[];
  raw: string;
}

/** A local SMTP server on an ephemeral port that keeps every mail it receives in `mails`. */
export async function startSmtpSink(mails: SunkMail[]): Promise<SMTPServer> {
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return smtp;
}
