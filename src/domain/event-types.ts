// The kinds of change, alone in a module that imports nothing: the browser console's clients
// (src/clients/users-api.ts) name them too, and cannot load what the rest of the model needs (node:crypto).

/**
 * What a change did to a user, named as the contract names it (`users.v1.UserEvent.EventType`, less
 * `EVENT_TYPE_BOOKMARK`, which is no change: see `Bookmark`).
 */
export const EVENT_TYPES = ['EVENT_TYPE_CREATED', 'EVENT_TYPE_UPDATED', 'EVENT_TYPE_DELETED'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const isEventType = (type: string): type is EventType => (EVENT_TYPES as readonly string[]).includes(type);
