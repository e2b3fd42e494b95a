// users-service.ts — handles; builds only the consumers of the transports it serves
import { closeOnSignals, createSwitchyard, handle } from '@switchyard/core';
import {
  CountUsers,
  definitions,
  GetUser,
  RegisterUser,
  routes,
  transports,
  type User,
  UserRegistered,
} from './config.ts';

const users = new Map<string, User>();
const app = createSwitchyard({
  definitions,
  routes,
  transports,
  handlers: [
    handle(RegisterUser, async (command) => {
      users.set(command.payload.userId, command.payload);
      await app.eventBus.dispatch(UserRegistered.create(command.payload));
    }),
    handle(UserRegistered, (event) => console.log(`welcome mail to ${event.payload.email}`)),
    handle(GetUser, (query) => users.get(query.payload.userId) ?? null),
    handle(CountUsers, () => users.size),
  ],
});
await app.start();
closeOnSignals(app); // SIGTERM/SIGINT: finish what is in flight, close, exit (bounded: 10 s)
console.log(`users-service serves ${app.serves.join(', ')}`);
