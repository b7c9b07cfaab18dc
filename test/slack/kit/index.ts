/** The Slack test kit: contract checks, a Web API stand-in, and a request signer. */
export * from './contracts.js';
export * from './web-api-stub.js';
export * from './signer.js';
export * from './socket-stub.js';
