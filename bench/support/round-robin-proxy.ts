// One address in front of several API processes, as a load balancer would put them: a TCP proxy
// that hands each new connection to the next backend in turn. Requests on a kept-alive connection
// stay with its backend, as behind a layer-4 balancer.
import net from 'node:net';

export type RoundRobinProxy = { port: number; connections: number[]; close(): Promise<void> };

export async function startRoundRobinProxy(backends: readonly number[]): Promise<RoundRobinProxy> {
  let next = 0;
  const connections = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const i = next++ % backends.length;
    connections[i]!++;
    const upstream = net.connect({ host: '127.0.0.1', port: backends[i]! });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.setNoDelay(true);
    }
    client.pipe(upstream).pipe(client);
    // A backend killed or restarting: the client sees its connection reset, as behind a real balancer.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no address');
  return {
    port: address.port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
