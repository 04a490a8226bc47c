// Resident memory of processes, read from /proc (Linux): one process (RSS), or a process with all
// its descendants (PostgreSQL's backends, a CLI that runs its server as a child) as the sum of
// their PSS: summed RSS would count PostgreSQL's shared buffers once per backend.
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS in bytes, or 0 when the process is gone. */
export function rssOf(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function parents(): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // ended while we looked
    }
  }
  return parentOf;
}

/** PSS in bytes (shared pages divided among the processes sharing them), or 0 when the process is gone. */
export function pssOf(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : rssOf(pid);
  } catch {
    return rssOf(pid);
  }
}

/** The summed PSS of `pid` and every process below it. */
export function treePss(pid: number): number {
  const parentOf = parents();
  const tree = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf)
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
  }
  let total = 0;
  for (const p of tree) total += pssOf(p);
  return total;
}

/** Processes whose command line contains every one of `parts`. */
export function pidsWith(parts: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (parts.every((p) => cmdline.includes(p))) found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}
