/** The real-engine suite on the dev stack's shape (tests/e2e/platform.ts, tests/e2e/stacks.ts). */
import { platformSuite } from "./platform";

platformSuite("dev");
