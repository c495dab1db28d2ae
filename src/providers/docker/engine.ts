import type { Client } from 'undici';
import { undici } from '../../core/lazy-undici.js';

/**
 * A thin Docker Engine API client over the daemon's Unix socket: undici (already our HTTP client)
 * with `socketPath`, JSON in and out, the API version pinned so that any engine from 20.10 on answers
 * alike. Only the calls the provider makes; every failure is an `EngineError` whose `unavailable`
 * says whether the daemon could not be reached at all (as opposed to refusing the request).
 */
export const API_VERSION = 'v1.41';

export class EngineError extends Error {
  override name = 'EngineError';
  /** HTTP status of the daemon's answer; 0 when there was none. */
  readonly status: number;
  readonly unavailable: boolean;

  constructor(message: string, status: number) {
    super(message);
    this.status = status;
    this.unavailable = status === 0;
  }
}

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly Labels: Readonly<Record<string, string>>;
  readonly State: string;
  readonly Created: number;
}

export interface ContainerDetails {
  readonly Id: string;
  readonly Name: string;
  readonly Config: { readonly Labels: Readonly<Record<string, string>> | null };
  readonly State: { readonly Running: boolean; readonly ExitCode: number };
  readonly NetworkSettings: {
    readonly Ports: Readonly<Record<string, { HostIp: string; HostPort: string }[] | null>> | null;
  };
}

export interface EngineEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly Actor?: { readonly ID: string; readonly Attributes?: Readonly<Record<string, string>> };
}

export type LabelFilter = Readonly<Record<string, string>>;

/** The parts of a Swarm service the swarm provider reads; `Spec` is sent back whole on update. */
export interface ServiceDetails {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: {
    readonly Name: string;
    readonly Mode?: { readonly Replicated?: { readonly Replicas?: number } };
    readonly TaskTemplate?: { readonly Networks?: readonly { readonly Target: string }[] };
    readonly [key: string]: unknown;
  };
}

/** One task of a service, as the manager reports it. */
export interface TaskDetails {
  readonly ID: string;
  readonly Slot?: number;
  readonly CreatedAt: string;
  readonly DesiredState: string;
  readonly Status: {
    readonly State: string;
    /** When the task entered its state (the manager's clock). */
    readonly Timestamp?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number };
  };
  readonly NetworksAttachments?: readonly {
    readonly Network: { readonly ID: string; readonly Spec: { readonly Name: string } };
    readonly Addresses?: readonly string[];
  }[];
}

/** What this daemon is in a swarm: `LocalNodeState` "active" and `ControlAvailable` on a manager. */
export interface SwarmInfo {
  readonly LocalNodeState: string;
  readonly ControlAvailable: boolean;
}

/** Event filters as the Engine API takes them, e.g. `{ type: ['container'], label: ['k=v'] }`. */
export type EventFilters = Readonly<Record<string, readonly string[]>>;

function labelFilters(labels: LabelFilter): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

export class Engine {
  readonly #socketPath: string;
  readonly #client: Client;

  constructor(socketPath: string) {
    this.#socketPath = socketPath;
    // Docker answers slowly only when it has work to do (create, stop); nothing here should take 30 s.
    this.#client = new (undici().Client)('http://docker', {
      socketPath,
      pipelining: 0,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  }

  async #call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
    let response;
    try {
      response = await this.#client.request({
        method,
        path: `/${API_VERSION}${path}`,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      throw new EngineError(`Docker daemon unreachable at ${this.#socketPath}: ${code ?? message}`, 0);
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) {
      let message = text.trim();
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new EngineError(
        `Docker: ${message} (${method} ${path} → ${response.statusCode})`,
        response.statusCode,
      );
    }
    const json = String(response.headers['content-type'] ?? '').includes('json');
    return json && text !== '' ? (JSON.parse(text) as T) : undefined;
  }

  async ping(): Promise<void> {
    await this.#call('GET', '/_ping');
  }

  async createContainer(name: string, spec: object): Promise<string> {
    const created = await this.#call<{ Id: string }>(
      'POST',
      `/containers/create?name=${encodeURIComponent(name)}`,
      spec,
    );
    return created!.Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.#call('POST', `/containers/${id}/start`);
  }

  /** SIGTERM, then SIGKILL after `timeoutS` seconds; a container already stopped is fine. */
  async stopContainer(id: string, timeoutS: number): Promise<void> {
    try {
      await this.#call('POST', `/containers/${id}/stop?t=${timeoutS}`);
    } catch (error) {
      if (!(error instanceof EngineError) || (error.status !== 304 && error.status !== 404)) throw error;
    }
  }

  /** Kills (if running) and removes; a container already gone is fine. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.#call('DELETE', `/containers/${id}?force=true&v=true`);
    } catch (error) {
      // 409: removal already in progress, which is what we want.
      if (!(error instanceof EngineError) || (error.status !== 404 && error.status !== 409)) throw error;
    }
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    try {
      return await this.#call<ContainerDetails>('GET', `/containers/${encodeURIComponent(id)}/json`);
    } catch (error) {
      if (error instanceof EngineError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Every container (running or not) carrying all the given labels. */
  async listContainers(labels: LabelFilter): Promise<ContainerSummary[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: labelFilters(labels) }));
    return (
      (await this.#call<ContainerSummary[]>('GET', `/containers/json?all=true&filters=${filters}`)) ?? []
    );
  }

  /** Creates the user-defined bridge network unless it exists. */
  async ensureNetwork(name: string): Promise<void> {
    try {
      await this.#call('GET', `/networks/${encodeURIComponent(name)}`);
      return;
    } catch (error) {
      if (!(error instanceof EngineError) || error.status !== 404) throw error;
    }
    try {
      await this.#call('POST', '/networks/create', { Name: name, Driver: 'bridge', CheckDuplicate: true });
    } catch (error) {
      // Another balancer created it in between.
      if (!(error instanceof EngineError) || error.status !== 409) throw error;
    }
  }

  /** This daemon's place in a swarm. */
  async swarmInfo(): Promise<SwarmInfo> {
    const info = await this.#call<{ Swarm: SwarmInfo }>('GET', '/info');
    return info!.Swarm;
  }

  /** The service, or undefined when there is none of that name or id. */
  async inspectService(name: string): Promise<ServiceDetails | undefined> {
    try {
      return await this.#call<ServiceDetails>('GET', `/services/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof EngineError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Writes the service's spec at the version it was read at; the manager refuses it ("update out of
   * sequence") when someone else updated the service in between.
   */
  async updateService(id: string, version: number, spec: ServiceDetails['Spec']): Promise<void> {
    await this.#call('POST', `/services/${encodeURIComponent(id)}/update?version=${version}`, spec);
  }

  /** Every task of the service that the manager still keeps (running, starting, and past ones). */
  async listTasks(service: string): Promise<TaskDetails[]> {
    const filters = encodeURIComponent(JSON.stringify({ service: [service] }));
    return (await this.#call<TaskDetails[]>('GET', `/tasks?filters=${filters}`)) ?? [];
  }

  async networkName(id: string): Promise<string | undefined> {
    try {
      return (await this.#call<{ Name: string }>('GET', `/networks/${encodeURIComponent(id)}`))?.Name;
    } catch (error) {
      if (error instanceof EngineError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Streams container events for the labels until the daemon closes the stream or `signal` aborts;
   * resolves when the stream ends, rejects with an `EngineError` when it cannot be opened or breaks.
   */
  streamEvents(
    labels: LabelFilter,
    onEvent: (event: EngineEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.streamFilteredEvents({ type: ['container'], label: labelFilters(labels) }, onEvent, signal);
  }

  /** The same for any filters: `streamEvents` for others than containers by label. */
  async streamFilteredEvents(
    eventFilters: EventFilters,
    onEvent: (event: EngineEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify(eventFilters));
    // Its own connection: an event stream never ends, so it must not hold up the calls above.
    const client = new (undici().Client)('http://docker', { socketPath: this.#socketPath, bodyTimeout: 0 });
    try {
      const response = await client.request({
        method: 'GET',
        path: `/${API_VERSION}/events?filters=${filters}`,
        signal,
      });
      if (response.statusCode !== 200) {
        const text = await response.body.text();
        throw new EngineError(`Docker: events stream refused: ${text.trim()}`, response.statusCode);
      }
      let pending = '';
      for await (const chunk of response.body) {
        pending += (chunk as Buffer).toString('utf8');
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '') onEvent(JSON.parse(line) as EngineEvent);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof EngineError) throw error;
      const { code, message } = error as { code?: string; message?: string };
      throw new EngineError(`Docker events stream from ${this.#socketPath} broke: ${code ?? message}`, 0);
    } finally {
      client.destroy().catch(() => undefined);
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
