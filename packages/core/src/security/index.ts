export * from './keyring';
export * from './headers';
export * from './message-security';
export { decryptBody } from './encryption';
