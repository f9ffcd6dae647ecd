export {
  AlreadyWatchingError,
  NotWatchingError,
  SubChannelsPresentError,
  WatcherClosedError,
} from "./errors.js";
export { type Describe, EventRelay } from "./event-relay.js";
export { LocalWatcher, type LocalWatcherOptions, type LocalWatchHandle } from "./local-watcher.js";
