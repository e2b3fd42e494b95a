// web.ts — only sends; builds a producer on the first message to each transport
import { createSwitchyard } from '@switchyard/core';
import { CountUsers, definitions, GetUser, RegisterUser, routes, transports } from './config.ts';

const app = createSwitchyard({ definitions, routes, transports, validate: 'both' });
await app.commandBus.dispatch(RegisterUser.create({ userId: 'u1', email: 'ada@example.com' }));
let user = null; // RegisterUser is queued: ask until the service has handled it
for (let tries = 0; user === null && tries < 50; tries++) {
  user = await app.queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 2_000 });
  if (user === null) await new Promise((resolve) => setTimeout(resolve, 100));
}
const count = await app.queryBus.dispatch(CountUsers.create({}), { timeoutMs: 2_000 });
console.log(user, `${count} user(s)`); // { userId: 'u1', email: 'ada@example.com' } 1 user(s)
await app.close();
