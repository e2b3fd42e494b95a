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
   * (a local message without one).
   */
  readonly role: 'serves' | 'sends' | 'handles' | 'none';
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
          role: handled.has(name) && serves.has(transport) ? 'serves' : 'sends',
        }),
      );
    }
  }
  return Object.freeze(rows);
}
