import { describe, expect, it } from 'vitest';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineEvent } from '../definitions.ts';
import { EventBus } from '../event-bus.ts';
import { InMemoryChannel } from '../in-memory/in-memory-channel.ts';
import { InMemoryProducer } from '../in-memory/in-memory-producer.ts';
import type { AnyMessage } from '../message.ts';
import { CommandRouter } from '../plugins/command-router.ts';
import { EventRouter } from '../plugins/event-router.ts';
import { correlationIdOf, handledMessage } from './handling-scope.ts';

// Its own file: the automatic switch is process-wide, and vitest runs each file in a fresh worker.
const Register = defineCommand<{ n: number }>('Register');
const Registered = defineEvent<{ n: number }>('Registered');

function buses() {
  const seen: AnyMessage[] = [];
  const scopes: (AnyMessage | undefined)[] = [];
  const eventBus = new EventBus();
  const events = new EventRouter();
  events.route(Registered).to((event) => void seen.push(event));
  eventBus.use(events);
  const commandBus = new CommandBus();
  const commands = new CommandRouter();
  commands.route(Register).to(async (command) => {
    scopes.push(handledMessage());
    await eventBus.dispatch(Registered.create({ n: command.payload.n }));
  });
  commandBus.use(commands);
  return { commandBus, seen, scopes };
}

describe('the automatic handling scope', () => {
  it('is off in a purely in-process app, and on once the process creates a transport', async () => {
    const before = buses();
    await before.commandBus.dispatch(Register.create({ n: 1 }));
    expect(before.scopes).toEqual([undefined]);
    expect(correlationIdOf(before.seen[0]!)).toBeUndefined();

    const producer = new InMemoryProducer({ channel: new InMemoryChannel() }); // constructing is enough
    const after = buses();
    const command = Register.create({ n: 2 });
    await after.commandBus.dispatch(command);
    expect(after.scopes[0]?.id).toBe(command.id);
    expect(correlationIdOf(after.seen[0]!)).toBe(command.id);
    await producer.close();
  });
});
