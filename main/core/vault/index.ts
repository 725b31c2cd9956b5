/** The vault core API (see docs/FORMAT.md "Vault layout" and the CLI in main/cli/vault.ts). */
export {
  openVault, readVaultInfo, requestAccess, splitVaultPath, Vault, DESCRIPTOR_KEY, type StagedFile,
  type OpenOptions, type OpProgress, type VaultDescriptor, type EpochBody,
} from './vault';
export { initVault, type InitOptions } from './init';
export type {
  AccessRequest, AddResult, EntryInfo, EntryType, RecordBody, RotateResult, SlotInfo, VaultProblem, VerifyReport, ProblemSeverity,
} from './types';
export {
  registerSlotKind, recipientSlotKind, slotKind, type SlotBody, type SlotKind, type SlotType, type UnlockCredentials, type SlotIdentities,
} from './slots';
export {
  FsStorage, OBJECT_LIMITS, objectLimit, type VaultStorage, type ObjectInfo, type FsStorageOptions, type Fetched, type StagedObject,
} from './storage';
export { confinedPath, partialPath, sweepPartials } from './confine';
export { nameProblem, recordProblem, validateRecordBody, MAX_NAME_BYTES } from './validate';
export { parseObjectName, type ConflictSource, type ObjectName } from './names';
export { decodeRecoveryKey, encodeRecoveryKey, generateRecoveryKey } from './recovery';
export { readMemory, type VaultMemory } from './state';
export { PROPS_LIMITS, validProps } from './types';
export type { HistoryItem, TrashMark, ReleasedBlob } from './types';
export {
  DEFAULT_RETENTION, RETENTION_BOUNDS, SYNC_GRACE_MS, DAY_MS, checkRetention,
  type Retention, type VersionInfo, type TrashInfo, type CollectResult,
} from './versions';
