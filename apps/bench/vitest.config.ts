import { perunVitestConfig } from "../../vitest.shared.ts";

export default perunVitestConfig(import.meta.dirname);
