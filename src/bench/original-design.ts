import { fileURLToPath } from 'node:url';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import type { User } from '../domain/user.js';

/**
 * The original design's gRPC codec: proto-loader's reflection-based
 * (de)serializers with the options its tutorials use, fed plain objects.
 */
export const ORIGINAL_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

export function loadOriginalDefinition(): PackageDefinition {
  return loadSync('users/v1/users.proto', { ...ORIGINAL_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
}

export interface OriginalUserMessage {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string[];
  created_at: { seconds: string; nanos: number };
  updated_at: { seconds: string; nanos: number };
}

function timestamp(date: Date | undefined): { seconds: string; nanos: number } {
  const ms = date?.getTime() ?? 0;
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** A user as the original handlers build it for proto-loader: snake_case keys, enum names, Timestamp objects. */
export function toOriginalMessage(user: User): OriginalUserMessage {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    tags: [...user.tags],
    created_at: timestamp(user.createdAt),
    updated_at: timestamp(user.updatedAt),
  };
}
