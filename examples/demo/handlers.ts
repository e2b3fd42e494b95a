import { type HandlerBinding, handle, type Switchyard } from '@switchyard/core';
import type { PostgresOutbox } from '@switchyard/postgres';
import { CountUsers, GetUser, RegisterUser, SendWelcomeMail, UserRegistered } from './messages.ts';

/** Where the users service keeps its users: a table, written in the outbox's transaction. */
export interface UserStore {
  readonly outbox: PostgresOutbox;
  readonly table: string; // e.g. "demo_1234".users
}

/**
 * The users service's handlers; `app()` is the service's own Switchyard, for what they dispatch.
 * With a store, RegisterUser inserts the row and dispatches UserRegistered in one transaction
 * (the event goes through the outbox); without one, it only dispatches.
 */
export function createHandlers(log: (line: string) => void, app: () => Switchyard, store?: UserStore) {
  const users = new Map<string, { userId: string; email: string }>();
  let mailsSent = 0;
  const via = (message: { metadata: Record<string, unknown> }) =>
    String(message.metadata['switchyard.receivedFrom'] ?? 'this process');
  const bindings: HandlerBinding[] = [
    handle(RegisterUser, async (command) => {
      const { userId, email } = command.payload;
      log(`  users-service  RegisterUser ${email} (arrived via ${via(command)})`);
      const registered = UserRegistered.create(command.payload);
      if (store === undefined) await app().eventBus.dispatch(registered);
      else {
        await store.outbox.transaction(async (client) => {
          await client.query(`INSERT INTO ${store.table} (id, email) VALUES ($1, $2)`, [userId, email]);
          await app().eventBus.dispatch(registered); // written to the outbox, committed with the row
        });
        log(`  users-service  committed user ${userId} and UserRegistered in one transaction`);
      }
      users.set(userId, { userId, email });
    }),
    handle(UserRegistered, async (event) => {
      log(`  users-service  UserRegistered ${event.payload.userId} (${via(event)})`);
      await app().commandBus.dispatch(SendWelcomeMail.create({ email: event.payload.email }));
    }),
    handle(SendWelcomeMail, (command) => {
      log(`  users-service  SendWelcomeMail to ${command.payload.email} (${via(command)})`);
      mailsSent++;
    }),
    handle(GetUser, (query) => users.get(query.payload.userId) ?? null),
    handle(CountUsers, () => users.size),
  ];
  return { bindings, users, mailsSent: () => mailsSent };
}
