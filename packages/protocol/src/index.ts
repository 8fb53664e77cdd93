export * from './base64.ts';
export * from './runner-api.ts';
export * from './signing.ts';
