export { canonicalJson, fingerprint, invisibleCharacters } from './canonical.js';
export type {
  ChangeCode,
  ChangeLevel,
  DiffOptions,
  SurfaceChange,
  SurfaceDiff,
  SurfaceItemKind,
} from './diff.js';
export { diffSurface, formatDiff } from './diff.js';
export type { AssertSurfaceOptions } from './lock.js';
export {
  assertSurfaceMatchesLock,
  LOCK_FILE_NAME,
  LockFileError,
  readLock,
  SurfaceLockError,
  serializeLock,
} from './lock.js';
export type {
  DeprecationNotice,
  DeprecationOptions,
  ToolVersionOptions,
  VersionedToolOptions,
  VersioningOptions,
} from './middleware.js';
export { versioning } from './middleware.js';
export type {
  AcceptedChange,
  LockedPrompt,
  LockedResourceTemplate,
  LockedTool,
  PromptArgument,
  PromptFingerprints,
  ResourceTemplateFingerprints,
  SurfaceInput,
  SurfaceLister,
  ToolFingerprints,
  ToolSurfaceLock,
} from './surface.js';
export { captureSurface, LOCKFILE_VERSION, listSurface } from './surface.js';
export type { RegisterToolVersion } from './versions.js';
export {
  compareVersions,
  DEPRECATION_META_KEY,
  isSemver,
  LATEST_META_KEY,
  parseVersionedName,
  registerToolVersions,
  TOOL_META_KEY,
  VERSION_META_KEY,
  versionedName,
} from './versions.js';
