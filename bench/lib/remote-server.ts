/**
 * The serving process of the two-process remote-query scenario (bench/scenarios/remote.ts), started
 * with `child_process.fork`. It answers the same query — `{ a, b }` → `{ sum: a + b }` — on every
 * contender: Switchyard's ZeroMQ and HTTP consumers, a Moleculer broker on the TCP transporter, a
 * NestJS microservice on the TCP transport, and a plain `node:http` server reading the v1 envelope
 * by hand. It sends the parent its addresses over IPC, then closes everything when told to.
 */
import { plainAddServer } from './plain-add-server.ts';
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { HttpConsumer } from '@switchyard/http';
import { ZeroMQConsumer } from '@switchyard/zeromq';
import { ServiceBroker } from 'moleculer';
import { receivingBuses } from './transport-fixtures.ts';

/** What the server tells the parent once everything listens. */
export interface RemoteServerAddresses {
  readonly zeromq: { readonly commands: readonly string[]; readonly queries: readonly string[] };
  readonly http: string;
  readonly plainHttp: string;
  readonly nestPort: number;
}

/** The parent's start message: the ports it chose for the Moleculer nodes. */
export interface RemoteServerStart {
  readonly moleculer: { readonly serverPort: number; readonly clientPort: number };
}

/** Moleculer's static TCP node list (no UDP discovery: loopback only). */
export function moleculerUrls(ports: RemoteServerStart['moleculer']): string {
  return `127.0.0.1:${ports.serverPort}/bench-server,127.0.0.1:${ports.clientPort}/bench-client`;
}

async function serve(start: RemoteServerStart): Promise<void> {
  const receiver = receivingBuses();

  // Switchyard over ZeroMQ and HTTP.
  const zeromq = new ZeroMQConsumer({
    commandEndpoint: 'tcp://127.0.0.1:0',
    queryEndpoint: 'tcp://127.0.0.1:0',
    commandBus: receiver.commandBus,
    queryBus: receiver.queryBus,
  });
  const http = new HttpConsumer({ commandBus: receiver.commandBus, queryBus: receiver.queryBus });

  // A plain node:http server: the v1 envelope read and answered by hand.
  const plain = plainAddServer();
  plain.keepAliveTimeout = 60_000;

  // Moleculer, TCP transporter.
  const broker = new ServiceBroker({
    nodeID: 'bench-server',
    logger: false,
    transporter: {
      type: 'TCP',
      options: {
        udpDiscovery: false,
        port: start.moleculer.serverPort,
        urls: moleculerUrls(start.moleculer),
      },
    },
  });
  broker.createService({
    name: 'bench',
    actions: {
      add(ctx: { params: { a: number; b: number } }) {
        return { sum: ctx.params.a + ctx.params.b };
      },
    },
  });

  // NestJS microservice, TCP transport. Decorators applied as calls: Node strips types only.
  class AddController {
    add(data: { a: number; b: number }) {
      return { sum: data.a + data.b };
    }
  }
  MessagePattern('add')(
    AddController.prototype,
    'add',
    Object.getOwnPropertyDescriptor(AddController.prototype, 'add')!,
  );
  Controller()(AddController);
  class NestServerModule {}
  Module({ controllers: [AddController] })(NestServerModule);
  const nest = await NestFactory.createMicroservice<MicroserviceOptions>(NestServerModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: 0 },
    logger: false,
  });

  const [bound, { url }] = await Promise.all([
    zeromq.start(),
    http.start(),
    new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve)),
    broker.start(),
    nest.listen(),
  ]);
  const nestServer = nest.unwrap<import('node:net').Server>();
  const addresses: RemoteServerAddresses = {
    zeromq: bound,
    http: url,
    plainHttp: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`,
    nestPort: (nestServer.address() as AddressInfo).port,
  };
  process.send!({ ready: addresses });

  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await Promise.all([zeromq.close(), http.close(), broker.stop(), nest.close()]);
  plain.closeAllConnections();
  await new Promise<void>((resolve) => plain.close(() => resolve()));
  process.disconnect();
}

process.once('message', (start: RemoteServerStart) => {
  serve(start).catch((error: unknown) => {
    console.error('remote-server:', error);
    process.exitCode = 1;
    process.disconnect();
  });
});
