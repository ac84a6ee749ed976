import {
  type CallOptions as GrpcCallOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  CreateUserRequest,
  type CreateUsersResponse,
  type DeepPartial,
  DeleteUserRequest,
  GetUserRequest,
  ListUsersRequest,
  UpdateUserRequest,
  type User,
  type UserEvent,
  WatchUsersRequest,
} from '../gen/users/v1/users.js';
import { userServiceDefinition } from './definition.js';
import { readStatusDetails, type StatusDetails } from './errors.js';

export interface UserClientOptions {
  /** `host:port` of the gRPC server. */
  address: string;
  /** Deadline of every call that sets none; 0 means none. */
  defaultDeadlineMs?: number;
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  maxReceiveMessageBytes?: number;
  /** A bearer token sent with every call (`authorization` metadata). */
  token?: string;
  /** Speak TLS: the CA that signed the server's certificate, and this client's own for mutual TLS. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

/** A bidirectional watch: send requests to widen it, iterate `events`, `end()` to finish. */
export interface WatchStream {
  send(request: DeepPartial<WatchUsersRequest>): void;
  end(): void;
  cancel(): void;
  events: AsyncIterable<UserEvent>;
}

type Method = (typeof userServiceDefinition)[string];

/** A typed users.v1.UserService client with deadlines, cancellation and keepalive. */
export class UserClient {
  private readonly client: Client;

  constructor(private readonly options: UserClientOptions) {
    const channel = options.tls
      ? credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null)
      : credentials.createInsecure();
    this.client = new Client(options.address, channel, {
      ...(options.keepaliveTimeMs ? { 'grpc.keepalive_time_ms': options.keepaliveTimeMs } : {}),
      ...(options.keepaliveTimeoutMs ? { 'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs } : {}),
      ...(options.maxReceiveMessageBytes ? { 'grpc.max_receive_message_length': options.maxReceiveMessageBytes } : {}),
    });
  }

  getUser(request: DeepPartial<GetUserRequest>, options?: CallOptions): Promise<User> {
    return this.unary('getUser', GetUserRequest.fromPartial(request), options);
  }

  createUser(request: DeepPartial<CreateUserRequest>, options?: CallOptions): Promise<User> {
    return this.unary('createUser', CreateUserRequest.fromPartial(request), options);
  }

  updateUser(request: DeepPartial<UpdateUserRequest>, options?: CallOptions): Promise<User> {
    return this.unary('updateUser', UpdateUserRequest.fromPartial(request), options);
  }

  async deleteUser(request: DeepPartial<DeleteUserRequest>, options?: CallOptions): Promise<void> {
    await this.unary('deleteUser', DeleteUserRequest.fromPartial(request), options);
  }

  listUsers(request: DeepPartial<ListUsersRequest>, options?: CallOptions): AsyncIterable<User> {
    const m = method('listUsers');
    const call = this.client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      ListUsersRequest.fromPartial(request),
      this.metadata(options),
      this.callOptions(options),
    );
    cancelOnAbort(call, options?.signal);
    return call;
  }

  /**
   * ListUsers with the revision it reflects, which the server sends as response metadata
   * (`x-revision`) before the first user: watch after it to miss no change since.
   */
  listing(
    request: DeepPartial<ListUsersRequest>,
    options?: CallOptions,
  ): { users: AsyncIterable<User>; revision: Promise<number> } {
    const users = this.listUsers(request, options) as ClientReadableStream<User>;
    const revision = new Promise<number>((resolve, reject) => {
      users.once('metadata', (metadata: Metadata) => {
        const value = metadata.get('x-revision')[0];
        if (value === undefined) reject(new Error('the server sent no x-revision'));
        else resolve(Number(value));
      });
      users.once('error', reject);
    });
    revision.catch(() => {}); // The stream reports the same failure.
    return { users, revision };
  }

  /** Streams every request, then resolves with the server's single answer. */
  createUsers(
    requests: Iterable<DeepPartial<CreateUserRequest>> | AsyncIterable<DeepPartial<CreateUserRequest>>,
    options?: CallOptions,
  ): Promise<CreateUsersResponse> {
    const m = method('createUsers');
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        this.metadata(options),
        this.callOptions(options),
        (error: ServiceError | null, response?: CreateUsersResponse) => (error ? reject(error) : resolve(response!)),
      );
      cancelOnAbort(call, options?.signal);
      const aborted = () => options?.signal?.aborted === true;
      (async () => {
        for await (const request of requests) {
          if (aborted()) return;
          if (!call.write(CreateUserRequest.fromPartial(request))) await new Promise((r) => call.once('drain', r));
        }
        // A cancelled call must not also say "that was all": the server would take it for a whole batch.
        if (!aborted()) call.end();
      })().catch((error: unknown) => {
        call.cancel();
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  watchUsers(options?: CallOptions): WatchStream {
    const m = method('watchUsers');
    const call: ClientDuplexStream<WatchUsersRequest, UserEvent> = this.client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      this.metadata(options),
      this.callOptions(options),
    );
    cancelOnAbort(call, options?.signal);
    return {
      send: (request) => call.write(WatchUsersRequest.fromPartial(request)),
      end: () => call.end(),
      cancel: () => {
        // The CANCELLED that follows is expected: a stream nobody reads must not crash the process with it.
        call.on('error', () => {});
        call.cancel();
      },
      events: call,
    };
  }

  /** The underlying channel: its connectivity state, for health checks and tests. */
  get channel(): ReturnType<Client['getChannel']> {
    return this.client.getChannel();
  }

  close(): void {
    this.client.close();
  }

  private unary<Res>(name: string, request: unknown, options?: CallOptions): Promise<Res> {
    const m = method(name);
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        this.metadata(options),
        this.callOptions(options),
        (error: ServiceError | null, response?: unknown) => (error ? reject(error) : resolve(response as Res)),
      );
      cancelOnAbort(call, options?.signal);
    });
  }

  /** The call's metadata, with the client's token unless the call brings its own `authorization`. */
  private metadata(options?: CallOptions): Metadata {
    const metadata = options?.metadata?.clone() ?? new Metadata();
    if (this.options.token && metadata.get('authorization').length === 0) {
      metadata.set('authorization', `Bearer ${this.options.token}`);
    }
    return metadata;
  }

  private callOptions(options?: CallOptions): GrpcCallOptions {
    const deadlineMs = options?.deadlineMs ?? this.options.defaultDeadlineMs ?? 0;
    return deadlineMs > 0 ? { deadline: new Date(Date.now() + deadlineMs) } : {};
  }
}

function method(name: string): Method {
  return userServiceDefinition[name]!;
}

function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

/** The `error-type` and google.rpc details of a failed call. */
export function describeError(error: unknown): StatusDetails & { code?: number; errorType?: string } {
  const { code, metadata } = error as Partial<ServiceError>;
  const [errorType] = metadata?.get('error-type') ?? [];
  return { code, errorType: errorType?.toString(), ...readStatusDetails(metadata) };
}
