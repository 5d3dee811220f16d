/**
 * What a program run under mocks is asked (RunRequest) and what it records (RecordedRun): shared by
 * the harness (in jest) and the child that runs the program (child/record.ts, plain Node).
 */

/** What a oneShot container (attach: true) reports once it has exited. */
export interface JobResult {
  readonly exitCode: number;
  readonly logs: string;
}

/** A referenced stack as the engine reports it: its outputs, and the names of the secret ones. */
export interface StackReferenceFixture {
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly secretOutputNames: readonly string[];
}

/** What the mocked TLS provider hands out (placeholders: nothing parses them under mocks). */
export const MOCK_KEY_PEM = "-----BEGIN PRIVATE KEY-----\nmock-key\n-----END PRIVATE KEY-----\n";
export const MOCK_CERT_PEM = "-----BEGIN CERTIFICATE-----\nmock-cert\n-----END CERTIFICATE-----\n";

/** What starts a runner's answer line (child/record.ts): anything else it prints is the program's. */
export const RUNNER_ANSWER = "vpn-program-runner-answer ";

export interface RunRequest {
  /** The program's absolute path (index.ts, or a fixture). */
  readonly program: string;
  readonly project: string;
  readonly stack: string;
  /** `namespace:key` -> the string the CLI passes. */
  readonly config: Readonly<Record<string, string>>;
  readonly preview: boolean;
  /** The result of a oneShot container whose name ends with the key (the longest key wins). */
  readonly jobs: Readonly<Record<string, JobResult>>;
  /** The result of every other oneShot container. */
  readonly defaultJob: JobResult;
  readonly stackReferences: Readonly<Record<string, StackReferenceFixture>>;
}

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: string[];
  readonly ignoreChanges: string[];
  readonly additionalSecretOutputs: string[];
  readonly dependencies: string[];
  readonly parent: string;
}

export interface ExportedValue {
  readonly value: unknown;
  readonly secret: boolean;
}

export interface RecordedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** A run as the child prints it (JSON). */
export interface RecordedRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, ExportedValue>;
  /** The values the mocks handed out as generated passwords. */
  readonly generatedSecrets: string[];
  /** The name of every container the mocks created, in order. */
  readonly containers: string[];
  /** Failures that reached no caller, as the language host would report them. */
  readonly unhandled: RecordedError[];
  /** What the program threw as it was loaded (invalid config), if it did. */
  readonly thrown?: RecordedError;
  /** That, or else the first failed export or registration: what fails an `up`. */
  readonly error?: RecordedError;
}
