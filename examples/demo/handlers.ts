import type { CommandBus, EventBus } from '@switchyard/core';
import {
  type CountUsers,
  type GetUser,
  type RegisterUser,
  SendWelcomeMail,
  UserRegistered,
} from './messages.ts';

type Msg<D extends { create(...args: never[]): unknown }> = ReturnType<D['create']>;

/** The users service's handlers. They run only where messages arrive. */
export function createHandlers(
  log: (line: string) => void,
  buses: () => { commandBus: CommandBus; eventBus: EventBus },
) {
  const users = new Map<string, { userId: string; email: string }>();
  const via = (message: { metadata: Record<string, unknown> }) =>
    String(message.metadata['switchyard.receivedFrom']);
  const handlers = {
    users,
    registerUser: async (command: Msg<typeof RegisterUser>) => {
      users.set(command.payload.userId, { ...command.payload });
      log(`  users-service  RegisterUser ${command.payload.email} (arrived via ${via(command)})`);
      await buses().eventBus.dispatch(
        UserRegistered.create(command.payload, { metadata: { causationId: command.id } }),
      );
    },
    onUserRegistered: async (event: Msg<typeof UserRegistered>) => {
      log(`  users-service  UserRegistered ${event.payload.userId} (arrived via ${via(event)})`);
      await buses().commandBus.dispatch(SendWelcomeMail.create({ email: event.payload.email }));
    },
    sendWelcomeMail: (command: Msg<typeof SendWelcomeMail>) => {
      log(`  users-service  SendWelcomeMail to ${command.payload.email} (arrived via ${via(command)})`);
      mailsSent++;
    },
    getUser: (query: Msg<typeof GetUser>) => users.get(query.payload.userId) ?? null,
    countUsers: (_query: Msg<typeof CountUsers>) => users.size,
    mailsSent: () => mailsSent,
  };
  let mailsSent = 0;
  return handlers;
}

/** The handlers `createBuses` routes to. */
export type Handlers = ReturnType<typeof createHandlers>;
