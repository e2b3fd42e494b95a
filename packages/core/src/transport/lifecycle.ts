import { ConfigurationError } from '../errors.ts';
import { InFlight } from './in-flight.ts';
import { checkOption } from './option-checks.ts';

/** Where a producer or consumer is in its life. */
export type LifecycleState = 'new' | 'starting' | 'started' | 'closing' | 'closed';

/** The options every producer and consumer takes for its lifecycle. */
export interface LifecycleOptions {
  /**
   * `close()`: how long work in flight may take to finish (sends, replies awaited, handlers
   * running) before the component cuts it off and releases its connections anyway.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
}

/**
 * What a component does at each step of its close. Both steps get the close's one deadline (ms
 * since the epoch, `closeTimeoutMs` after `close()` was called): the whole close stays within it.
 */
export interface CloseSteps {
  /** Stop taking new work (unbind, pause fetching); work already taken goes on. */
  stopIntake?(deadline: number): void | Promise<void>;
  /**
   * Release everything; `drained` is false when work was still in flight at the deadline (cut it
   * off). Whatever the step still waits for must end by `deadline`.
   */
  release(drained: boolean, deadline: number): void | Promise<void>;
}

/**
 * Start once, close once, bounded: the lifecycle every producer and consumer shares. `start()` runs
 * the component's `open` once (a second call gets the same promise); `close()` stops intake, waits
 * for {@link inFlight} to drain, then releases — all within one deadline, `closeTimeoutMs` after the
 * call — once: a second call awaits the first. Nothing starts in a constructor.
 */
export class Lifecycle<Address> {
  /** Work in flight; `close()` waits for it to drain. */
  readonly inFlight = new InFlight();
  readonly closeTimeoutMs: number;
  readonly #component: string;
  #state: LifecycleState = 'new';
  #starting: Promise<Address> | undefined;
  #closing: Promise<void> | undefined;
  #address: Address | undefined;

  constructor(component: string, options: LifecycleOptions) {
    this.#component = component;
    this.closeTimeoutMs = checkOption(
      component,
      'closeTimeoutMs',
      options.closeTimeoutMs,
      10_000,
      'non-negative',
    );
  }

  /** The current state. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** True from the first `close()` on. */
  get closing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** The address `start()` resolved with, once it has. */
  get address(): Address | undefined {
    return this.#address;
  }

  /**
   * Runs `open` once and resolves with its address; later calls get the same promise. After
   * `close()` it rejects with `ConfigurationError`. A failed start may be retried.
   */
  start(open: () => Promise<Address>): Promise<Address> {
    if (this.closing) {
      return Promise.reject(
        new ConfigurationError(`${this.#component} is closed; create a new one to start again`),
      );
    }
    if (this.#starting !== undefined) return this.#starting;
    this.#state = 'starting';
    let starting: Promise<Address>;
    try {
      starting = open();
    } catch (error) {
      starting = Promise.reject(error);
    }
    const started = starting.then(
      (address) => {
        this.#address = address;
        if (this.#state === 'starting') this.#state = 'started';
        return address;
      },
      (error: unknown) => {
        if (this.#starting === started) this.#starting = undefined;
        if (this.#state === 'starting') this.#state = 'new';
        throw error;
      },
    );
    this.#starting = started;
    return started;
  }

  /** Closes once (see the class); a second call returns the first call's promise. */
  close(steps: CloseSteps): Promise<void> {
    this.#closing ??= this.#close(steps);
    return this.#closing;
  }

  async #close(steps: CloseSteps): Promise<void> {
    const starting = this.#starting;
    this.#state = 'closing';
    const deadline = Date.now() + this.closeTimeoutMs;
    if (starting !== undefined) await starting.catch(() => undefined);
    try {
      await steps.stopIntake?.(deadline);
      const drained = await this.inFlight.drained(Math.max(0, deadline - Date.now()));
      await steps.release(drained, deadline);
    } finally {
      this.#state = 'closed';
    }
  }
}
