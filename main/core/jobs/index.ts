export * from './progress';
export * from './pool';
export * from './queue';
