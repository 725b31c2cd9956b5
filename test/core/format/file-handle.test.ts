import { fileHandleCases } from './file-handle-cases';

// sodium-native, the default backend.
fileHandleCases('sodium-native');
