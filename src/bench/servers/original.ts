// The original design's stack over the same domain core and database: Express 5 for REST,
// @grpc/grpc-js with proto-loader for gRPC, handlers written the way its tutorials write them.
import express from 'express';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type GrpcObject,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { openApp } from '../../app/app.js';
import { createLogger } from '../../app/logger.js';
import { DomainError, ErrorCode } from '../../domain/errors.js';
import { userToJson } from '../../rest/representation.js';
import { loadOriginalDefinition, toOriginalMessage } from '../original-design.js';
import { announce, portOf, serverSettings } from './entry.js';

const { db } = serverSettings<{ db: string }>();
const app = await openApp({ db, eventRetention: 100_000 }, createLogger('info', false));
const service = app.service;

const grpcCode = (error: unknown) =>
  error instanceof DomainError && error.code === ErrorCode.USER_NOT_FOUND ? status.NOT_FOUND : status.INTERNAL;
const httpStatus = (error: unknown) =>
  error instanceof DomainError && error.code === ErrorCode.USER_NOT_FOUND ? 404 : 500;

const users = (loadPackageDefinition(loadOriginalDefinition()).users as GrpcObject).v1 as GrpcObject;
const grpcServer = new Server();
grpcServer.addService((users.UserService as ServiceClientConstructor).service, {
  GetUser(call: ServerUnaryCall<{ id: string }, unknown>, callback: sendUnaryData<unknown>) {
    service.getUser(call.request.id).then(
      (user) => callback(null, toOriginalMessage(user)),
      (error: unknown) => callback({ code: grpcCode(error), details: String(error) }),
    );
  },
  async ListUsers(call: ServerWritableStream<{ page_size: number; page_token: string; filter: string }, unknown>) {
    try {
      let pageToken = call.request.page_token;
      do {
        const page = await service.listUsers({
          pageSize: call.request.page_size,
          pageToken,
          filter: call.request.filter,
        });
        for (const user of page.users) call.write(toOriginalMessage(user));
        pageToken = page.nextPageToken;
      } while (pageToken);
      call.end();
    } catch (error) {
      call.destroy(Object.assign(new Error(String(error)), { code: grpcCode(error) }));
    }
  },
});

const rest = express();
rest.get('/users/:id', async (request, response) => {
  try {
    response.json(userToJson(await service.getUser(request.params.id)));
  } catch (error) {
    response.status(httpStatus(error)).json({ error: String(error) });
  }
});
rest.get('/users', async (request, response) => {
  try {
    const page = await service.listUsers({
      pageSize: Number(request.query.limit ?? 50),
      pageToken: typeof request.query.page_token === 'string' ? request.query.page_token : '',
      filter: typeof request.query.filter === 'string' ? request.query.filter : '',
    });
    response.json({ users: page.users.map((u) => userToJson(u)), nextPageToken: page.nextPageToken });
  } catch (error) {
    response.status(httpStatus(error)).json({ error: String(error) });
  }
});

const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) =>
    error ? reject(error) : resolve(port),
  ),
);
const httpServer = rest.listen(0, '127.0.0.1', () => {
  announce({ grpc: grpcPort, http: portOf(httpServer.address()) }, async () => {
    grpcServer.forceShutdown();
    httpServer.closeAllConnections();
    httpServer.close();
    await app.close(1000);
  });
});
