// Fastify type augmentations used across the app (request.cookies, reply.setCookie).
import '@fastify/cookie';
