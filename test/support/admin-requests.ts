/** supertest calls to an app as the holder of one admin bearer token. */
import request from 'supertest';
import type { Express } from 'express';

export const asToken = (app: () => Express, token: string) => ({
  get: (p: string) => request(app()).get(p).set('authorization', `Bearer ${token}`),
  post: (p: string, body?: object) => request(app()).post(p).set('authorization', `Bearer ${token}`).send(body),
  patch: (p: string, body: object) => request(app()).patch(p).set('authorization', `Bearer ${token}`).send(body),
  delete: (p: string) => request(app()).delete(p).set('authorization', `Bearer ${token}`),
});
