// users.v1.UserService as a GraphQL schema: the same model and words as the contract (role and event
// type names, RFC 3339 times, etags), with GraphQL's own shapes where it has them (a Relay connection
// for the listing, a subscription for the change feed).
import { buildSchema, type GraphQLSchema } from 'graphql';

/**
 * Revisions are 64-bit in the contract; GraphQL's Int is 32-bit (a revision past 2^31 would not
 * serialize), so a revision is a String of decimal digits, as the proto3 JSON mapping writes int64.
 * A role is read as a String: a name the contract does not have must reach the domain and be refused
 * there (INVALID_ARGUMENT on `role`) as on every protocol, not by GraphQL's enum coercion.
 */
export const SDL = /* GraphQL */ `
  """
  A user account.
  """
  type User {
    id: ID!
    name: String!
    """
    Empty when another user (not an admin) reads it.
    """
    email: String!
    role: UserRole!
    tags: [String!]!
    """
    RFC 3339, UTC.
    """
    createdAt: String!
    updatedAt: String!
    """
    The change-log revision of this version: a 64-bit integer in decimal digits.
    """
    revision: String!
    """
    This version's entity tag: what updateUser and deleteUser take as ifMatch.
    """
    etag: String!
  }

  enum UserRole {
    USER_ROLE_USER
    USER_ROLE_ADMIN
  }

  type UserEdge {
    cursor: String!
    node: User!
  }

  type PageInfo {
    hasNextPage: Boolean!
    """
    The cursor to pass as users(after:) for the next page; null on the last page.
    """
    endCursor: String
  }

  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
    """
    The change-log revision this page reflects: userEvents(afterRevision:) from it misses nothing.
    """
    revision: String!
  }

  type Query {
    user(id: ID!): User
    """
    Newest first. first: 1 to 500 (default 50); after: a previous page's endCursor; filter: part of a name.
    """
    users(first: Int, after: String, filter: String): UserConnection!
  }

  input NewUser {
    name: String!
    email: String!
    """
    A UserRole name; USER_ROLE_USER when absent.
    """
    role: String
    tags: [String!]
  }

  """
  The fields to change: only those given change.
  """
  input UserChanges {
    name: String
    email: String
    role: String
    tags: [String!]
  }

  type Mutation {
    """
    A retry with the same idempotencyKey answers with the first result.
    """
    createUser(input: NewUser!, idempotencyKey: String): User!
    """
    All or none; errors name the item (users[1].email).
    """
    createUsers(inputs: [NewUser!]!, idempotencyKey: String): [User!]!
    """
    ifMatch: the etag of the version it applies to, or *.
    """
    updateUser(id: ID!, changes: UserChanges!, ifMatch: String): User!
    """
    The deleted user's id.
    """
    deleteUser(id: ID!, ifMatch: String): ID!
  }

  enum EventType {
    EVENT_TYPE_CREATED
    EVENT_TYPE_UPDATED
    EVENT_TYPE_DELETED
    EVENT_TYPE_BOOKMARK
  }

  type UserEvent {
    type: EventType!
    revision: String!
    """
    The user after the change (as it was just before, for a deletion); null for a bookmark.
    """
    user: User
  }

  type Subscription {
    """
    Changes after afterRevision (from now when absent), of userIds (everyone when absent); bookmarks while quiet unless false.
    """
    userEvents(afterRevision: String, userIds: [ID!], bookmarks: Boolean): UserEvent!
  }
`;

/** The schema without resolvers; resolvers.ts sets them on its fields. */
export const bareSchema = (): GraphQLSchema => buildSchema(SDL);
