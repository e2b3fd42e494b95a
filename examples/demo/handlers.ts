import { type HandlerBinding, handle, type Switchyard } from '@switchyard/core';
import { CountUsers, GetUser, RegisterUser, SendWelcomeMail, UserRegistered } from './messages.ts';

/** The users service's handlers; `app()` is the service's own Switchyard, for what they dispatch. */
export function createHandlers(log: (line: string) => void, app: () => Switchyard) {
  const users = new Map<string, { userId: string; email: string }>();
  let mailsSent = 0;
  const via = (message: { metadata: Record<string, unknown> }) =>
    String(message.metadata['switchyard.receivedFrom'] ?? 'this process');
  const bindings: HandlerBinding[] = [
    handle(RegisterUser, async (command) => {
      users.set(command.payload.userId, { ...command.payload });
      log(`  users-service  RegisterUser ${command.payload.email} (arrived via ${via(command)})`);
      await app().eventBus.dispatch(UserRegistered.create(command.payload));
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
