// A real SMTP server for tests (the same one dev uses as its sink): it keeps what arrived.
import { startLocalSmtp } from '../../scripts/local-smtp.ts';

export type ReceivedMail = { to: string[]; subject: string; messageId: string; raw: string };
export type TestSmtp = { url: string; received: ReceivedMail[]; stop(): Promise<void> };

const header = (raw: string, name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw)?.[1]?.trim() ?? '';

export async function startTestSmtp(): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const smtp = await startLocalSmtp({
    port: 0,
    onMail: (buffer, to) => {
      const raw = buffer.toString('utf8');
      received.push({ to, subject: header(raw, 'Subject'), messageId: header(raw, 'Message-ID'), raw });
    },
  });
  return { ...smtp, received };
}
