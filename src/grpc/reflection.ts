// gRPC server reflection (v1 and v1alpha) that serves the contract's real file descriptors: the
// .proto files' own names and imports, as buf compiled them (src/gen/descriptor-set.ts). Standard
// clients (grpcurl, buf curl, Postman) resolve every type by following those imports.
import type { Server, ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import { FILE_DESCRIPTOR_SET } from '../gen/descriptor-set.js';
import * as v1 from '../gen/grpc/reflection/v1/reflection.js';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection.js';
import { toGrpcDefinition } from './definition.js';

/** One .proto file: its bytes as compiled, its imports, and the fully qualified names it declares. */
interface ProtoFile {
  name: string;
  bytes: Uint8Array;
  dependencies: string[];
  symbols: string[];
  services: string[];
}

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** Reads from a FileDescriptorSet just what reflection needs; each file's bytes are kept as they are. */
export function readDescriptorSet(set: Uint8Array): ProtoFile[] {
  const files: ProtoFile[] = [];
  forEachField(set, (field, reader) => {
    if (field === 1) files.push(readFile(reader.bytes()));
    else return false;
  });
  return files;
}

/** Calls `visit` for each field of a message; a field it does not consume (returns false) is skipped. */
function forEachField(bytes: Uint8Array, visit: (field: number, reader: protobuf.Reader) => boolean | void): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (visit(tag >>> 3, reader) === false) reader.skipType(tag & 7);
  }
}

function readFile(bytes: Uint8Array): ProtoFile {
  const file: ProtoFile = { name: '', bytes, dependencies: [], symbols: [], services: [] };
  let pkg = '';
  const nested: [number, Uint8Array][] = [];
  forEachField(bytes, (field, reader) => {
    if (field === 1) file.name = reader.string();
    else if (field === 2) pkg = reader.string();
    else if (field === 3) file.dependencies.push(reader.string());
    else if (field === 4 || field === 5 || field === 6) nested.push([field, reader.bytes()]);
    else return false;
  });
  const scope = pkg === '' ? '' : `${pkg}.`;
  for (const [field, body] of nested) {
    if (field === 4) readMessage(body, scope, file.symbols);
    if (field === 5) file.symbols.push(scope + nameOf(body));
    if (field === 6) {
      const service = scope + nameOf(body);
      file.services.push(service);
      file.symbols.push(service);
      forEachField(body, (f, reader) => {
        if (f === 2) file.symbols.push(`${service}.${nameOf(reader.bytes())}`);
        else return false;
      });
    }
  }
  return file;
}

/** A message's name and those of its nested messages and enums. */
function readMessage(body: Uint8Array, scope: string, symbols: string[]): void {
  const name = scope + nameOf(body);
  symbols.push(name);
  forEachField(body, (field, reader) => {
    if (field === 3) readMessage(reader.bytes(), `${name}.`, symbols);
    else if (field === 4) symbols.push(`${name}.${nameOf(reader.bytes())}`);
    else return false;
  });
}

/** Field 1, `name`, of a descriptor. */
function nameOf(body: Uint8Array): string {
  let name = '';
  forEachField(body, (field, reader) => {
    if (field === 1) name = reader.string();
    else return false;
  });
  return name;
}

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;

/** Answers one reflection request from the files, for the services the server serves. */
function answer(files: ProtoFile[], services: readonly string[], request: Request): Response {
  const byName = new Map(files.map((f) => [f.name, f]));
  const response = { validHost: request.host, originalRequest: request };
  const notFound = (what: string): Response => ({
    ...response,
    errorResponse: { errorCode: NOT_FOUND, errorMessage: `${what} not found` },
  });
  /** A file and every file it imports, transitively: a client needs them all to resolve its types. */
  const withImports = (file: ProtoFile): Response => {
    const found = new Map<string, Uint8Array>();
    const visit = (f: ProtoFile | undefined) => {
      if (!f || found.has(f.name)) return;
      found.set(f.name, f.bytes);
      for (const dependency of f.dependencies) visit(byName.get(dependency));
    };
    visit(file);
    return {
      ...response,
      fileDescriptorResponse: { fileDescriptorProto: [...found.values()].map((b) => Buffer.from(b)) },
    };
  };
  if (request.listServices !== undefined) {
    return { ...response, listServicesResponse: { service: services.map((name) => ({ name })) } };
  }
  if (request.fileByFilename !== undefined) {
    const file = byName.get(request.fileByFilename);
    return file ? withImports(file) : notFound(`file ${request.fileByFilename}`);
  }
  if (request.fileContainingSymbol !== undefined) {
    const symbol = request.fileContainingSymbol.replace(/^\./, '');
    const file = files.find((f) => f.symbols.includes(symbol));
    return file ? withImports(file) : notFound(`symbol ${symbol}`);
  }
  if (request.allExtensionNumbersOfType !== undefined) {
    // The contract declares no extensions: a known type has none, an unknown one is not found.
    const type = request.allExtensionNumbersOfType.replace(/^\./, '');
    if (!files.some((f) => f.symbols.includes(type))) return notFound(`type ${type}`);
    return { ...response, allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } };
  }
  if (request.fileContainingExtension !== undefined) return notFound('extension');
  return { ...response, errorResponse: { errorCode: INVALID_ARGUMENT, errorMessage: 'no request in the message' } };
}

const REFLECTION_SERVICES = [v1.ServerReflectionDefinition, v1alpha.ServerReflectionDefinition];
export const REFLECTION_SERVICE_NAMES = REFLECTION_SERVICES.map((d) => d.fullName);

/** Serves reflection v1 and v1alpha on `server`; `services` are the services it lists (reflection's own included). */
export function addReflection(server: Pick<Server, 'addService'>, services: readonly string[]): void {
  const files = readDescriptorSet(Buffer.from(FILE_DESCRIPTOR_SET, 'base64'));
  const declared = new Set(files.flatMap((f) => f.services));
  const missing = services.filter((s) => !declared.has(s));
  if (missing.length > 0) throw new Error(`reflection: no descriptor for ${missing.join(', ')} (run npm run generate)`);
  const implementation: UntypedServiceImplementation = {
    serverReflectionInfo(call: ServerDuplexStream<Request, Response>) {
      call.on('data', (request: Request) => call.write(answer(files, services, request)));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  };
  // v1 and v1alpha messages are the same fields and numbers: one implementation answers both.
  for (const definition of REFLECTION_SERVICES) server.addService(toGrpcDefinition(definition), implementation);
}
