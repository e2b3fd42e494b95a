import type { MessageKind } from '../message.ts';
import { LOCAL } from './route-table.ts';
import type { TransportDefinition } from './transport-definition.ts';

/** One row of a process's routing table (see `Switchyard.routing`). */
export interface RoutingEntry {
  /** The message name. */
  readonly message: string;
  /** `command`, `event` or `query`. */
  readonly kind: MessageKind;
  /** The transport's name in the configuration, or `"local"` for a message with no transport. */
  readonly transport: string;
  /** The adapter of that transport (`"bullmq"`, `"http"`, …), or `"local"`. */
  readonly adapter: string;
  /**
   * What this process does with it there: `serves` (consumes it from the transport and handles it),
   * `sends` (sends it over the transport), `handles` (a local message with a handler here), `none`
   * (a local message without one); on a topic, `subscribes` (its group receives the event here) or
   * `publishes` (it publishes the event; handlers here run as local listeners).
   */
  readonly role: 'serves' | 'sends' | 'handles' | 'none' | 'subscribes' | 'publishes';
}

/** The routing table of a process, one row per message and transport, sorted by message name. */
export function routingTable(
  messages: readonly { readonly name: string; readonly kind: MessageKind }[],
  routes: ReadonlyMap<string, readonly string[]>,
  handled: ReadonlySet<string>,
  serves: ReadonlySet<string>,
  transports: Readonly<Record<string, TransportDefinition>>,
): readonly RoutingEntry[] {
  const rows: RoutingEntry[] = [];
  for (const { name, kind } of [...messages].sort((a, b) => a.name.localeCompare(b.name))) {
    const targets = (routes.get(name) ?? [LOCAL]).filter((target) => target !== LOCAL);
    if (targets.length === 0) {
      rows.push(
        Object.freeze({
          message: name,
          kind,
          transport: LOCAL,
          adapter: LOCAL,
          role: handled.has(name) ? 'handles' : 'none',
        }),
      );
      continue;
    }
    for (const transport of targets) {
      rows.push(
        Object.freeze({
          message: name,
          kind,
          transport,
          adapter: transports[transport]?.kind ?? 'unknown',
          role: roleOver(transports[transport], handled.has(name) && serves.has(transport)),
        }),
      );
    }
  }
  return Object.freeze(rows);
}

/** The role of a process over a transport: it consumes the message there (`received`), or sends it. */
function roleOver(transport: TransportDefinition | undefined, received: boolean): RoutingEntry['role'] {
  if (transport?.capabilities.fanOut === true) return received ? 'subscribes' : 'publishes';
  return received ? 'serves' : 'sends';
}
