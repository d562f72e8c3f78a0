/**
 * Secrets never leave the host unredacted. Env values are always dropped (names kept); command-line
 * arguments and free text are scrubbed of secret-looking values.
 */
export const REDACTED = '[REDACTED]';

const SECRET_NAME = '(?:[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth)[A-Za-z0-9_.-]*)';

/** `--password=x`, `--password x`, `PASSWORD=x`, `token: x`, `"apiKey":"x"` */
const NAMED_SECRET = new RegExp(
  `(${SECRET_NAME}["']?\\s*[=:]\\s*["']?|--?${SECRET_NAME}(?:\\s+|=))([^\\s"',;&]+)`,
  'gi',
);
/** user:password@ in URLs (postgres://, amqp://, https://) */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi;
/** Bearer tokens and well-known key formats. */
const TOKEN_PATTERNS = [
  /\b(Bearer\s+)([A-Za-z0-9._~+/-]{8,}=*)/g,
  /\b()(AKIA[0-9A-Z]{16})\b/g,
  /\b()(gh[pousr]_[A-Za-z0-9]{20,})\b/g,
  /\b()(xox[abposr]-[A-Za-z0-9-]{10,})\b/g,
  /\b()(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b/g,
];

/** Scrubs secret-looking values from free text (log lines, commands, event attributes). */
export function redactText(text: string): string {
  let out = text.replace(NAMED_SECRET, (_m, prefix: string) => `${prefix}${REDACTED}`);
  out = out.replace(URL_CREDENTIALS, (_m, before: string, _secret: string, at: string) => `${before}${REDACTED}${at}`);
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, (_m, prefix: string) => `${prefix}${REDACTED}`);
  return out;
}

/** `NAME=value` -> `NAME=[REDACTED]`: env values are never kept, whatever the name. */
export function redactEnv(env: readonly string[] | null | undefined): string[] {
  return (env ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
  });
}

/**
 * Redacts a command's arguments: secret-looking `--flag value` pairs and inline values, plus the
 * argument after a secret-named flag written on its own (`--password`, `hunter2`).
 */
export function redactArgs(args: readonly string[] | null | undefined): string[] {
  const out: string[] = [];
  const secretFlag = new RegExp(`^--?${SECRET_NAME}$`, 'i');
  let hideNext = false;
  for (const arg of args ?? []) {
    if (hideNext) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    if (secretFlag.test(arg)) hideNext = true;
    out.push(redactText(arg));
  }
  return out;
}
