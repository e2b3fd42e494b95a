import { describe, expect, it } from 'vitest';
import { defineCommand, defineEvent } from '../definitions.ts';
import { EventBus } from '../event-bus.ts';
import { EventRouter } from '../plugins/event-router.ts';
import { createSwitchyard } from '../switchyard/create-switchyard.ts';
import { handle } from '../switchyard/handler-binding.ts';
import { InMemoryTopic } from './in-memory-topic.ts';
import { InMemoryTopicPublisher } from './in-memory-topic-publisher.ts';
import { inMemoryTopic } from './in-memory-topic-transport.ts';

const Registered = defineEvent<{ n: number }>('Registered');
const Register = defineCommand<{ n: number }>('Register');
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('publishing to a topic', () => {
  it('runs the publisher’s own listeners too, once (a point-to-point producer would skip them)', async () => {
    const topic = new InMemoryTopic();
    const publisher = new InMemoryTopicPublisher({ topic });
    const local: number[] = [];
    const router = new EventRouter();
    router
      .route(Registered)
      .to(publisher)
      .andTo((event) => void local.push(event.payload.n));
    const bus = new EventBus();
    bus.use(router);
    await bus.dispatch(Registered.create({ n: 1 }));
    expect(local).toEqual([1]);
  });

  it('localListenersOnPublish: false keeps the listeners for what arrives from the topic', async () => {
    const topic = new InMemoryTopic();
    const publisher = new InMemoryTopicPublisher({ topic });
    const local: number[] = [];
    const router = new EventRouter();
    router
      .route(Registered, { localListenersOnPublish: false })
      .to(publisher)
      .andTo((event) => void local.push(event.payload.n));
    const bus = new EventBus();
    bus.use(router);
    await bus.dispatch(Registered.create({ n: 1 }));
    expect(local).toEqual([]);
  });

  it('refuses a command routed to a topic, and a command given to its publisher', async () => {
    const publisher = new InMemoryTopicPublisher({ topic: new InMemoryTopic() });
    const { CommandRouter } = await import('../plugins/command-router.ts');
    expect(() => new CommandRouter().route(Register).to(publisher as never)).toThrow(
      /topic carries events only/,
    );
    await expect(publisher.produce(Register.create({ n: 1 }))).rejects.toMatchObject({
      code: 'SWITCHYARD_INVALID_MESSAGE',
    });
  });
});

describe('createSwitchyard with a topic', () => {
  it('a process with subscriber options subscribes; one without publishes and runs its handlers at publish', async () => {
    const topic = new InMemoryTopic();
    const audit: number[] = [];
    const publisherApp = createSwitchyard({
      transports: { events: inMemoryTopic({ topic }) },
      routes: [[Registered, 'events']],
      handlers: [handle(Registered, (event) => void audit.push(event.payload.n))],
    });
    const billing: number[] = [];
    const billingApp = createSwitchyard({
      transports: { events: inMemoryTopic({ topic, subscriber: { group: 'billing' } }) },
      routes: [[Registered, 'events']],
      handlers: [handle(Registered, (event) => void billing.push(event.payload.n))],
    });
    expect(publisherApp.serves).toEqual([]);
    expect(publisherApp.sendsOver).toEqual(['events']);
    expect(billingApp.serves).toEqual(['events']);
    const row = { message: 'Registered', kind: 'event', transport: 'events', adapter: 'in-memory-topic' };
    expect(publisherApp.routing).toEqual([{ ...row, role: 'publishes' }]);
    expect(billingApp.routing).toEqual([{ ...row, role: 'subscribes' }]);
    await Promise.all([publisherApp.start(), billingApp.start()]);

    await publisherApp.eventBus.dispatch(Registered.create({ n: 1 }));
    // The subscriber publishes too: its handler runs once, on receipt — not also at publish.
    await billingApp.eventBus.dispatch(Registered.create({ n: 2 }));
    await settle();
    expect(audit).toEqual([1]);
    expect(billing).toEqual([1, 2]);
    await Promise.all([publisherApp.close(), billingApp.close()]);
  });

  it('a group subscribes to the events its process handles unless it names events', async () => {
    const topic = new InMemoryTopic();
    const Other = defineEvent<{ n: number }>('Other');
    const got: string[] = [];
    const app = createSwitchyard({
      transports: { events: inMemoryTopic({ topic, subscriber: { group: 'g' } }) },
      routes: [
        [Registered, 'events'],
        [Other, 'events'],
      ],
      handlers: [handle(Registered, (event) => void got.push(event.name))],
    });
    await app.start();
    await app.eventBus.dispatch(Other.create({ n: 1 }));
    await app.eventBus.dispatch(Registered.create({ n: 2 }));
    await settle();
    expect(got).toEqual(['Registered']);
    await app.close();
  });

  it('names what is wrong: a command routed to a topic, a group without a name', () => {
    expect(() =>
      createSwitchyard({
        transports: { events: inMemoryTopic() },
        routes: { Register: 'events' },
        definitions: [Register],
      }),
    ).toThrow(/"Register" is routed to "events" \(in-memory-topic\), a topic: a topic carries events only/);
    const app = createSwitchyard({
      transports: { events: inMemoryTopic({ subscriber: { group: 'no spaces allowed' } }) },
      routes: [[Registered, 'events']],
      handlers: [handle(Registered, () => undefined)],
    });
    return expect(app.start()).rejects.toThrow(/subscriber group/);
  });
});
