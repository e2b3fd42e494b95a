import type { DispatchContext } from '../dispatch-context.ts';
import { type AnyMessage, isMessage } from '../message.ts';
import type { BusKind } from '../message-bus.ts';
import { causedBy, handledMessage } from './handling-scope.ts';
import { currentInstrumentation } from './instrumentation.ts';

/**
 * Runs one dispatch of a bus (`run`) observed: a message dispatched while another is handled gets
 * its `correlationId` / `causationId`, and the installed instrumentation, if any, wraps it. (The
 * bus calls each local handler in the handling scope, see `callHandler`, so what it dispatches in
 * turn is caused by it.) A dispatched value that is not a message runs as it is.
 */
export function observeDispatch(
  bus: BusKind,
  context: DispatchContext,
  run: (context: DispatchContext) => Promise<unknown>,
): Promise<unknown> {
  const dispatched = context.message;
  if (!isMessage(dispatched)) return run(context);
  let message: AnyMessage = dispatched;
  const parent = handledMessage();
  if (parent !== undefined) {
    const caused = causedBy(message, parent);
    if (caused !== message) context.message = message = caused;
  }
  const instrumentation = currentInstrumentation();
  if (instrumentation?.dispatch === undefined) return run(context);
  return instrumentation.dispatch({ bus, message, context }, () => run(context));
}
