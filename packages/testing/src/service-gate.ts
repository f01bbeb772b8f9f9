/** What a suite needs from mocha's `this` in a hook: the means to skip itself. */
export interface Skippable {
  skip(): void;
}

export interface ServiceGateOptions {
  /** The service as messages name it: `'RabbitMQ'`, `'PostgreSQL'`. */
  readonly service: string;
  /** Where it is looked for, credentials already redacted: shown in every message. */
  readonly at: string;
  /** Resolves when the service answers, rejects saying why not. Run once per gate. */
  readonly probe: () => Promise<unknown>;
  /** The tests a skip leaves out, for the notice: `'the @tidings/amqp broker tests'`. */
  readonly skipping: string;
  /** How to make it reachable: ``'start one with `rabbitmq-server -detached` or set AMQP_URL'``. */
  readonly hint: string;
  /** Whether a missing service fails the suite instead of skipping it. @default true when the CI environment variable is set */
  readonly required?: boolean;
  /** Where the one-line skip notice goes. @default console.log */
  readonly notice?: (line: string) => void;
}

export interface ServiceGate {
  /** Whether the service answered; rejects, saying where and why, when it did not and it is required. */
  reachable(): Promise<boolean>;
  /** In a `before` hook: returns when the service answers, else skips the suite (one notice per gate) or, when required, fails it. */
  require(suite: Skippable): Promise<void>;
}

/**
 * Gates the suites that need a running service (a broker, a database). The service is probed once;
 * where it does not answer the suites skip with one line saying how to start it, and where it is
 * required (under CI, by default) they fail instead, so a missing service can never pass as a
 * skipped run.
 */
export function serviceGate(options: ServiceGateOptions): ServiceGate {
  const required = options.required ?? Boolean(process.env.CI);
  const notice = options.notice ?? ((line: string) => console.log(line));
  let answer: Promise<boolean> | undefined;
  let noticed = false;
  const reachable = (): Promise<boolean> => {
    answer ??= options.probe().then(
      () => true,
      (error: unknown) => {
        const why = error instanceof Error ? error.message : String(error);
        if (required) throw new Error(`${options.service} is not reachable at ${options.at} and is required here (CI is set): ${why}. To fix it, ${options.hint}.`);
        return false;
      },
    );
    return answer;
  };
  return {
    reachable,
    async require(suite) {
      if (await reachable()) return;
      if (!noticed) {
        noticed = true;
        notice(`    (${options.service} not reachable at ${options.at}: skipping ${options.skipping}; ${options.hint})`);
      }
      suite.skip();
    },
  };
}
