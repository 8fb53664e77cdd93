export * from './runner-api.ts';
export * from './signing.ts';
