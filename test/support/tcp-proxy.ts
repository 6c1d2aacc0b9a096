/**
 * A TCP forwarder on a free loopback port, standing where a pooler (PgBouncer) would in front of a
 * server: a real network hop that a test can take away (`close()` drops every connection through it).
 */
import { createServer, connect, type Socket } from 'node:net';
import type { Test } from 'tap';

export interface TcpProxy {
  port: number;
  close(): Promise<void>;
}

export async function startTcpProxy(t: Test, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(() => (server.listening ? close() : undefined));
  return { port: (server.address() as { port: number }).port, close };
}
