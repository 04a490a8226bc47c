// A local SMTP server: accepts every mail over the wire and hands it to `onMail`. Dev writes them
// to a folder as .eml files; tests keep them to read what arrived.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export type LocalSmtp = { url: string; stop(): Promise<void> };
export type OnMail = (raw: Buffer, recipients: string[]) => void;

export async function startLocalSmtp({ port, onMail }: { port: number; onMail: OnMail }): Promise<LocalSmtp> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        onMail(
          Buffer.concat(chunks),
          session.envelope.rcptTo.map((r) => r.address),
        );
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server as unknown as { server: { address(): AddressInfo } }).server.address().port;
  return { url: `smtp://127.0.0.1:${bound}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Dev's sink: every mail becomes a file in `dir`. */
export function writeMailsTo(dir: string): OnMail {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return (raw) => writeFileSync(join(dir, `${Date.now()}-${++n}.eml`), raw);
}
