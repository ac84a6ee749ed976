// The twinapi web console: one page on the REST port that uses the API the way a browser can —
// REST, Server-Sent Events, Connect, gRPC-Web, GraphQL and tRPC — with the token the user pastes.
import { byId } from './dom.js';
import { compareFeeds, ConnectFeed, FeedView, SseFeed } from './feeds.js';
import { graphqlClient } from './graphql.js';
import { latencyPanel } from './latency.js';
import { type ApiError, refusalText, restClient, type UserJson } from './rest.js';
import { rpcClients } from './rpc.js';
import { TokenStore, tokenForm } from './token.js';
import { trpcQuery } from './trpc.js';
import { UserForms } from './user-forms.js';
import { UsersTable } from './users-table.js';

const tokens = new TokenStore();
tokenForm(tokens);

// One place says that a call was refused, whichever panel made it; a new token clears it.
const authStatus = byId('auth-status', HTMLElement);
const refused = (text: string) => {
  authStatus.textContent = text;
};
tokens.onChange(() => {
  authStatus.textContent = '';
});

const rest = restClient(tokens, (error: ApiError) =>
  refused(refusalText(error.status, error.code, error.message, !!tokens.value) ?? error.message),
);
const rpc = rpcClients(tokens);

/** The user the latency panel times: the one last edited or created, else the first in the table. */
let chosen: UserJson | undefined;
const forms = new UserForms(rest, (change, user) => {
  // After a delete there is none: the first in the table again.
  chosen = user;
  // A new user is the newest, so on the first page; an edit or a delete stays on the page shown.
  void (change === 'created' ? table.first() : table.refresh());
});
const table = new UsersTable(rest, (user) => {
  chosen = user;
  forms.startEditing(user);
});

const compare = byId('feeds-compare', HTMLElement);
const showComparison = () => {
  const { state, text } = compareFeeds(sseView.revisions, connectView.revisions);
  compare.dataset.state = state;
  compare.textContent = text;
};
const sseView = new FeedView('feed-sse', showComparison);
const connectView = new FeedView('feed-connect', showComparison);
const sse = new SseFeed(sseView, tokens, refused);
const connect = new ConnectFeed(connectView, rpc.connectJson, refused, tokens);
showComparison();

latencyPanel({ rest, rpc, graphql: graphqlClient(tokens), trpc: trpcQuery(tokens) }, () => chosen ?? table.users[0]);

// A new token: every panel asks again with it (the feeds resume where they were).
const start = () => {
  void table.first();
  sse.start();
  connect.start();
};
tokens.onChange(start);
start();

// The newest report of `npm run bench` on the server, if it has one.
void (async () => {
  const status = byId('bench-status', HTMLElement);
  const response = await fetch('/console/bench-report', { method: 'HEAD' }).catch(() => undefined);
  if (response?.ok) {
    status.textContent = 'The newest benchmark report of this server:';
    byId('bench-link', HTMLAnchorElement).hidden = false;
    const frame = byId('bench-frame', HTMLIFrameElement);
    frame.src = '/console/bench-report';
    frame.hidden = false;
  } else {
    status.textContent = response
      ? 'No benchmark report on this server yet: run `npm run bench` in its working directory.'
      : 'The server did not answer.';
  }
})();
