import type { Writable } from "node:stream";
import { progressBar } from "../progress-bar.js";
import { describeEvent, eventJson, type NodeEvent } from "./node-event.js";

/**
 * Prints node events: JSON lines (for scripts and the demo) or readable text. On a terminal a
 * progress bar redraws in place; elsewhere progress is printed in quarter steps.
 */
export class Presenter {
  readonly #out: Writable;
  readonly #json: boolean;
  readonly #tty: boolean;
  #barShown = false;
  #lastQuarter = -1;

  constructor(out: Writable, opts: { json: boolean; tty: boolean }) {
    this.#out = out;
    this.#json = opts.json;
    this.#tty = opts.tty;
  }

  show(e: NodeEvent): void {
    if (this.#json) {
      this.#out.write(`${eventJson(e)}\n`);
      return;
    }
    if (e.type === "progress") {
      if (this.#tty) {
        this.#out.write(`\r${progressBar(e.done, e.total)}`);
        this.#barShown = true;
        return;
      }
      const quarter = Math.floor((4 * e.done) / e.total);
      if (quarter !== this.#lastQuarter) {
        this.#lastQuarter = quarter;
        this.#out.write(`${progressBar(e.done, e.total)}\n`);
      }
      return;
    }
    this.#lastQuarter = -1;
    if (this.#barShown) {
      this.#out.write("\n");
      this.#barShown = false;
    }
    this.#out.write(`${describeEvent(e)}\n`);
  }
}
