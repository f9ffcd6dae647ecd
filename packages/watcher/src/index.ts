export {
  AlreadyWatchingError,
  NotWatchingError,
  SubChannelsPresentError,
  WatcherClosedError,
} from "./errors.js";
export { LocalWatcher, type LocalWatcherOptions, type LocalWatchHandle } from "./local-watcher.js";
