export * from './aurora.ts';
export * from './base64.ts';
export * from './oip.ts';
export * from './signing.ts';
