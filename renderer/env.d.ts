import type { CofferApi } from '../preload/preload';

declare global {
  interface Window {
    /** The app's only door to the world, built by the preload from the IPC contract. */
    readonly coffer: CofferApi;
  }
}
export {};
