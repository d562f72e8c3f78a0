/**
 * Secrets never leave the host unredacted. Env values are always dropped (names kept); command-line
 * arguments and free text are scrubbed of secret-looking values.
 *
 * Every text seen here comes from outside (log lines, labels, commands), so the redactor uses no
 * regular expression: one forward scan over runs of name characters, plus `indexOf` searches for
 * fixed markers (`://`, `-----BEGIN `, webhook hosts). Each character is looked at a bounded number
 * of times, so the time is linear in the text whatever it holds.
 *
 * Texts are cut first, then redacted (the scan only ever sees the bounded text). A cut can go
 * through a secret, so the end of a cut text counts as a possible cut: a known key prefix reaching
 * it is redacted however short its rest, and a quoted value, URL password or private key block
 * left open there is redacted up to the end.
 */
export const REDACTED = '[REDACTED]';

/** Characters of a text redactText keeps when the caller gives no limit. */
export const MAX_REDACTED_TEXT = 16_384;
/** Characters of one command-line argument redactArgs keeps. */
export const MAX_ARGUMENT = 4096;

// ---------------------------------------------------------------------------------------------
// Character classes (ASCII; anything else is neither a name nor a key character).

const NAME = 1; // A-Z a-z 0-9 _ . -  (what a setting's name or a key is made of)
const ALNUM = 2;
const B64URL = 4; // A-Z a-z 0-9 _ -
const UPPER_DIGIT = 8;
const LOWER_HEX = 16;
const TOKEN68 = 32; // RFC 9110 token68 without its `=` padding: A-Z a-z 0-9 - . _ ~ + /
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c += 1) {
  const ch = String.fromCharCode(c);
  const upper = ch >= 'A' && ch <= 'Z';
  const lower = ch >= 'a' && ch <= 'z';
  const digit = ch >= '0' && ch <= '9';
  let bits = 0;
  if (upper || lower || digit || ch === '_' || ch === '.' || ch === '-') bits |= NAME;
  if (upper || lower || digit) bits |= ALNUM | TOKEN68;
  if (upper || lower || digit || ch === '_' || ch === '-') bits |= B64URL;
  if (upper || digit) bits |= UPPER_DIGIT;
  if (digit || (ch >= 'a' && ch <= 'f')) bits |= LOWER_HEX;
  if ('-._~+/'.includes(ch)) bits |= TOKEN68;
  CLASS[c] = bits;
}
const is = (code: number, bits: number): boolean => code < 128 && ((CLASS[code] as number) & bits) !== 0;
const isSpace = (code: number): boolean => code === 32 || code === 9;
const isLineEnd = (code: number): boolean => code === 10 || code === 13;
const isWhite = (code: number): boolean => isSpace(code) || isLineEnd(code) || code === 11 || code === 12;
const isQuote = (code: number): boolean => code === 34 || code === 39 || code === 96;
/** Where an unquoted value ends: white space, a quote, or a list separator (`,` `;` `&`). */
const endsUnquoted = (code: number): boolean => isWhite(code) || isQuote(code) || code === 44 || code === 59 || code === 38;
const BACKSLASH = 92;
const SLASH = 47;

// ---------------------------------------------------------------------------------------------
// Secret names: `DB_PASSWORD`, `apiKey`, `x-auth-token`, `--password`, `Authorization`, `Cookie`...
// A name is split into lower-case words (at `_` `.` `-` and camelCase); it is secret when one of
// its words is a keyword, unless its last word says it names a setting about the secret.

/** Words that are secret wherever they stand in a name (`pass`, `auth`: only as whole words). */
const KEYWORDS = new Set(['pass', 'pwd', 'pw', 'auth', 'cookie', 'signature', 'sig', 'pat', 'passcode']);
/** Words that are secret on their own or at the end of a longer word (`PGPASSWORD`, `csrftoken`). */
const KEYWORD_ENDINGS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'authkey',
  'credential',
  'credentials',
  'authorization',
  'sessionid',
  'sessid',
];
/** Two words that are secret together (`api_key`, `AccountKey`, `signing-key`). */
const KEYWORD_PAIRS = new Set(['api key', 'access key', 'private key', 'secret key', 'account key', 'signing key', 'encryption key', 'master key', 'session key']);
/** Last words that make a secret-named setting harmless: `password_policy`, `token_ttl`, `--password-stdin`. */
const SETTING_WORDS = new Set(
  (
    'policy policies file path dir directory ttl length len min max minimum maximum count type mode enabled disabled ' +
    'required expiry expires expiration expire timeout name hint strength url uri endpoint header prompt stdin method ' +
    'scheme algorithm algo format rotation interval age lifetime size domain secure samesite httponly version provider ' +
    'source backend mount location env user username login host port server service realm scope scopes issuer ' +
    'audience level field fields param changed reset retries attempts failures errors error status complexity history ' +
    'regex pattern charset rules rule check validation in at duration'
  ).split(' '),
);

type NameKind = 'none' | 'secret' | 'authorization' | 'cookie';
/** Names longer than this are not settings' names (and are not split into words). */
const MAX_NAME = 128;

/** HTTP authentication schemes: `Authorization: Bearer x` keeps `Bearer` and redacts `x`. */
const AUTH_SCHEMES = new Set(['bearer', 'basic', 'token', 'digest', 'negotiate', 'ntlm', 'apikey', 'key', 'hoba', 'mutual', 'dpop', 'aws4-hmac-sha256', 'sharedkey', 'sso-key', 'splunk']);

/** `password is X`: words after "is" that describe the secret instead of being it. */
const STATE_WORDS = new Set(
  (
    'not invalid incorrect wrong required missing empty expired too set unset valid correct null none nil undefined a an ' +
    'the being now still blank weak strong ok good bad insecure mandatory optional present absent disabled enabled in of ' +
    'for to on at from no also already deprecated'
  ).split(' '),
);

/** Whether the word after `password is` describes the secret (`not`, `expired`, `missing.`). */
function describesSecret(value: string): boolean {
  let end = value.length;
  while (end > 0 && '.,:;!?)'.includes(value[end - 1] as string)) end -= 1;
  const word = value.slice(0, end);
  if (word === '' || STATE_WORDS.has(word.toLowerCase())) return true;
  for (let i = 0; i < word.length; i += 1) {
    const c = word.charCodeAt(i);
    if (c < 97 || c > 122) return false;
  }
  // A lower-case participle: `hashed`, `rotated`, `missing`.
  return word.endsWith('ed') || word.endsWith('ing');
}

/** Client commands whose short flag takes a password: `mysql -psecret`, `sshpass -p secret`, `redis-cli -a secret`. */
const CLIENT_PASSWORD_FLAG = new Map<string, string>([
  ...['mysql', 'mysqldump', 'mysqladmin', 'mysqlimport', 'mysqlcheck', 'mysqlshow', 'mysqlslap', 'mysqlsh', 'mariadb', 'mariadb-dump', 'mariadb-admin', 'mariadb-import', 'mariadb-check', 'mariadb-show'].map(
    (c): [string, string] => [c, 'p'],
  ),
  ...['mongo', 'mongosh', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'sshpass'].map((c): [string, string] => [c, 'p']),
  ['redis-cli', 'a'],
]);

function isKeyword(word: string): boolean {
  if (KEYWORDS.has(word)) return true;
  if (word.length < 5) return false;
  for (const ending of KEYWORD_ENDINGS) if (word.endsWith(ending)) return true;
  return false;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLowerOrDigit = (c: number) => (c >= 97 && c <= 122) || isDigit(c);

/**
 * Splits a name into lower-case words (at `_` `.` `-`, and where a capital follows a lower-case
 * letter or digit), trailing digits dropped (`password2`), and says whether it is secret.
 */
function nameKind(name: string): NameKind {
  const lower = name.toLowerCase();
  let kind: NameKind = 'none';
  let previous = '';
  let last = '';
  let wordStart = 0;
  for (let i = 0; i <= name.length; i += 1) {
    const c = i < name.length ? name.charCodeAt(i) : 45;
    const separator = c === 95 || c === 46 || c === 45;
    const camel = !separator && c >= 65 && c <= 90 && i > wordStart && isLowerOrDigit(name.charCodeAt(i - 1));
    if (!separator && !camel) continue;
    let end = i;
    while (end > wordStart && isDigit(lower.charCodeAt(end - 1))) end -= 1;
    if (end > wordStart) {
      const word = lower.slice(wordStart, end);
      if (isKeyword(word) || KEYWORD_PAIRS.has(`${previous} ${word}`)) {
        kind = word.endsWith('authorization') ? 'authorization' : word === 'cookie' ? 'cookie' : 'secret';
      }
      previous = word;
      last = word;
    }
    wordStart = separator ? i + 1 : i;
  }
  return kind !== 'none' && SETTING_WORDS.has(last) ? 'none' : kind;
}

/** What a run of name characters can be, besides a key shape. */
interface RunMeaning {
  /** The secret-name kind of the run without its leading dashes. */
  kind: NameKind;
  /** Leading dashes: 1 or 2 make it a flag. */
  dashes: number;
  /** The password flag letter, when the run names a client command (`mysql`). */
  clientFlag: string | undefined;
  bearer: boolean;
}
const NOTHING: RunMeaning = { kind: 'none', dashes: 0, clientFlag: undefined, bearer: false };

/**
 * Lower-case letter pairs that start a keyword, a pair's first word, a client command or `bearer`:
 * a run holding none of them means nothing, which most runs are found to be without allocating.
 */
const LEAD_PAIRS = new Uint8Array(128 * 128);
for (const word of [...KEYWORDS, ...KEYWORD_ENDINGS, ...[...KEYWORD_PAIRS].map((pair) => pair.split(' ')[0] as string), ...CLIENT_PASSWORD_FLAG.keys(), 'bearer']) {
  LEAD_PAIRS[word.charCodeAt(0) * 128 + word.charCodeAt(1)] = 1;
}

/** Meanings of recent runs (log lines repeat their words); emptied when full, so it stays small. */
const meanings = new Map<string, RunMeaning>();
const MAX_MEANINGS = 1024;

function meaningOf(text: string, start: number, end: number): RunMeaning {
  let lead = false;
  for (let k = start; k + 1 < end && !lead; k += 1) {
    const a = text.charCodeAt(k) | 0x20;
    const b = text.charCodeAt(k + 1) | 0x20;
    lead = a < 128 && b < 128 && LEAD_PAIRS[a * 128 + b] === 1;
  }
  if (!lead) return NOTHING;
  const word = text.slice(start, end);
  const known = meanings.get(word);
  if (known) return known;
  const lower = word.toLowerCase();
  let dashes = 0;
  while (dashes < word.length && word.charCodeAt(dashes) === 45) dashes += 1;
  const meaning: RunMeaning = { kind: nameKind(word.slice(dashes)), dashes, clientFlag: CLIENT_PASSWORD_FLAG.get(lower), bearer: lower === 'bearer' };
  if (meanings.size >= MAX_MEANINGS) meanings.clear();
  meanings.set(word, meaning);
  return meaning;
}

// ---------------------------------------------------------------------------------------------
// Key shapes recognized without a name: a fixed prefix, then at least `min` characters of a class.

interface KeyShape {
  prefix: string;
  min: number;
  chars: number;
}
const KEY_SHAPES: KeyShape[] = [
  ...['AKIA', 'ASIA'].map((prefix) => ({ prefix, min: 16, chars: UPPER_DIGIT })), // AWS access key ids
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((prefix) => ({ prefix, min: 20, chars: ALNUM })), // GitHub
  { prefix: 'github_pat_', min: 20, chars: B64URL },
  ...['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-'].map((prefix) => ({ prefix, min: 20, chars: B64URL })), // GitLab
  ...['xoxb-', 'xoxp-', 'xoxa-', 'xoxo-', 'xoxs-', 'xoxr-', 'xoxe-', 'xapp-'].map((prefix) => ({ prefix, min: 10, chars: ALNUM | B64URL })), // Slack
  ...['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'].map((prefix) => ({ prefix, min: 16, chars: ALNUM })), // Stripe
  { prefix: 'sk-', min: 20, chars: B64URL }, // OpenAI, Anthropic
  { prefix: 'AIza', min: 30, chars: B64URL }, // Google API keys
  { prefix: 'ya29.', min: 20, chars: NAME }, // Google OAuth access tokens
  { prefix: 'npm_', min: 30, chars: ALNUM },
  { prefix: 'hf_', min: 30, chars: ALNUM }, // Hugging Face
  { prefix: 'dckr_pat_', min: 20, chars: B64URL }, // Docker Hub
  { prefix: 'SG.', min: 30, chars: NAME }, // SendGrid
  { prefix: 'pypi-', min: 50, chars: B64URL },
  ...['shpat_', 'shpss_', 'shpca_', 'shppa_'].map((prefix) => ({ prefix, min: 32, chars: LOWER_HEX })), // Shopify
  ...['dop_v1_', 'doo_v1_', 'dor_v1_'].map((prefix) => ({ prefix, min: 64, chars: LOWER_HEX })), // DigitalOcean
  ...['hvs.', 'hvb.'].map((prefix) => ({ prefix, min: 20, chars: B64URL })), // HashiCorp Vault
  { prefix: 'SK', min: 32, chars: LOWER_HEX }, // Twilio API keys
  { prefix: 'key-', min: 32, chars: LOWER_HEX }, // Mailgun
  { prefix: 'lin_api_', min: 30, chars: ALNUM }, // Linear
  ...['sq0atp-', 'sq0csp-'].map((prefix) => ({ prefix, min: 20, chars: B64URL })), // Square
  { prefix: 'rubygems_', min: 40, chars: LOWER_HEX },
  { prefix: 'AGE-SECRET-KEY-1', min: 40, chars: UPPER_DIGIT }, // age
  { prefix: 'eyJ', min: 0, chars: NAME }, // JWT: checked for its dots below
];
/** The fixed prefixes of the key formats recognized without a name (`sk_live_`, `ghp_`, `eyJ`...). */
export const KEY_PREFIXES: readonly string[] = KEY_SHAPES.map((shape) => shape.prefix);
const SHAPES_BY_FIRST = new Map<number, KeyShape[]>();
for (const shape of KEY_SHAPES) {
  const first = shape.prefix.charCodeAt(0);
  SHAPES_BY_FIRST.set(first, [...(SHAPES_BY_FIRST.get(first) ?? []), shape]);
}

/** URL hosts and paths whose rest is the credential (incoming webhooks, bot tokens). */
const SECRET_URL_PATHS = [
  'hooks.slack.com/services/',
  'hooks.slack.com/workflows/',
  'hooks.slack.com/triggers/',
  'discord.com/api/webhooks/',
  'discordapp.com/api/webhooks/',
  'webhook.office.com/webhookb2/',
  'api.telegram.org/bot',
];

// ---------------------------------------------------------------------------------------------

/** What a scan carries from one text to the next: the password flag of a client command seen. */
interface ScanState {
  clientFlag: string | undefined;
}

/**
 * Finds the ranges to redact in `text` (flat [start, end, start, end...], unordered, may overlap).
 * `cut`: the text was cut at its end, so a secret may reach it unfinished.
 */
function secretRanges(text: string, cut: boolean, state: ScanState): number[] {
  const n = text.length;
  const ranges: number[] = [];
  const add = (start: number, end: number) => {
    if (end > start) ranges.push(start, end);
  };
  const code = (i: number) => (i < n ? text.charCodeAt(i) : -1);
  const skipSpaces = (i: number) => {
    while (i < n && isSpace(text.charCodeAt(i))) i += 1;
    return i;
  };
  const unquotedEnd = (i: number) => {
    while (i < n && !endsUnquoted(text.charCodeAt(i))) i += 1;
    return i;
  };
  const lineEnd = (i: number) => {
    while (i < n && !isLineEnd(text.charCodeAt(i))) i += 1;
    return i;
  };

  /**
   * The value starting at `i` (after its separator): quoted (`"x y"`, `'x'`, `\"x\"`) up to its
   * closing quote, the end of the line or of the text; else one word, or the rest of the line
   * when `toLineEnd`. Returns [start, end, where the scan resumes].
   */
  function valueAt(i: number, toLineEnd: boolean): [number, number, number] {
    const escaped = code(i) === BACKSLASH && isQuote(code(i + 1));
    if (escaped || isQuote(code(i))) {
      const quote = code(escaped ? i + 1 : i);
      const start = i + (escaped ? 2 : 1);
      let j = start;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (isLineEnd(c)) return [start, j, j];
        if (c === BACKSLASH) {
          if (escaped && code(j + 1) === quote) return [start, j, j + 2];
          j += 2;
          continue;
        }
        if (c === quote && !escaped) return [start, j, j + 1];
        j += 1;
      }
      return [start, n, n];
    }
    const end = toLineEnd ? lineEnd(i) : unquotedEnd(i);
    return [i, end, end];
  }

  /** Whether only indentation (and a YAML list dash) stands between the line's start and `i`. */
  function startsLine(i: number): boolean {
    let k = i - 1;
    while (k >= 0 && isSpace(text.charCodeAt(k))) k -= 1;
    if (k >= 0 && text.charCodeAt(k) === 45) {
      k -= 1;
      while (k >= 0 && isSpace(text.charCodeAt(k))) k -= 1;
    }
    return k < 0 || isLineEnd(text.charCodeAt(k));
  }

  /** A key shape starting the run [start, end): where it ends, or -1. */
  function keyShapeEnd(start: number, end: number): number {
    const shapes = SHAPES_BY_FIRST.get(text.charCodeAt(start));
    if (!shapes) return -1;
    for (const shape of shapes) {
      if (!text.startsWith(shape.prefix, start)) continue;
      let j = start + shape.prefix.length;
      while (j < end && is(text.charCodeAt(j), shape.chars)) j += 1;
      if (shape.prefix === 'eyJ') {
        if (cut && j === n) return n;
        while (j > start && text.charCodeAt(j - 1) === 46) j -= 1;
        let dots = 0;
        for (let k = start; k < j; k += 1) if (text.charCodeAt(k) === 46) dots += 1;
        if (dots >= 2 && j - start >= 20) return j;
        continue;
      }
      if (j - start - shape.prefix.length >= shape.min || (cut && j === n)) return j;
    }
    return -1;
  }

  /** `Bearer <token>` anywhere: the token, when it looks like one. Returns where to resume, or -1. */
  function bearerToken(afterWord: number): number {
    const start = skipSpaces(afterWord);
    if (start === afterWord) return -1;
    let j = start;
    let digit = false;
    let upper = false;
    let lower = false;
    while (j < n && is(text.charCodeAt(j), TOKEN68)) {
      const c = text.charCodeAt(j);
      digit ||= c >= 48 && c <= 57;
      upper ||= c >= 65 && c <= 90;
      lower ||= c >= 97 && c <= 122;
      j += 1;
    }
    while (j < n && text.charCodeAt(j) === 61) j += 1;
    const length = j - start;
    if ((length >= 8 && (digit || (upper && lower))) || length >= 20 || (cut && j === n && length > 0)) {
      add(start, j);
      return j;
    }
    return -1;
  }

  /** `-p<secret>` / `-p <secret>` after a client command that takes its password so. */
  function clientPassword(start: number): number {
    const at = start + 2;
    const c = code(at);
    if (at < n && !isWhite(c)) {
      const [s, e, resume] = valueAt(at, false);
      add(s, e);
      return resume;
    }
    const next = skipSpaces(at);
    if (next === at || next >= n || code(next) === 45 || isLineEnd(code(next))) return -1;
    const [s, e, resume] = valueAt(next, false);
    add(s, e);
    return resume;
  }

  /**
   * What follows a secret name ending at `end`: `=`, `:`, `:=`, `=>` then a value; for a flag
   * (`--password x`) the next word; `password is x`. Returns where to resume, or -1.
   */
  function secretValue(nameStart: number, end: number, flag: boolean, kind: NameKind): number {
    let k = end;
    // The closing quote of a quoted key: `"password": ...`, `\"password\": ...`.
    if (code(k) === BACKSLASH && isQuote(code(k + 1))) k += 2;
    else if (isQuote(code(k))) k += 1;
    const afterKey = k;
    k = skipSpaces(k);
    const c = code(k);
    let separator: 'colon' | 'other' | undefined;
    if (c === 61 && code(k + 1) !== 61) {
      separator = 'other';
      k += code(k + 1) === 62 ? 2 : 1;
    } else if (c === 58 && code(k + 1) !== 58) {
      separator = 'colon';
      k += code(k + 1) === 61 ? 2 : 1;
    }
    if (separator === undefined) {
      if (k === afterKey || k >= n || isLineEnd(c)) return -1;
      if (flag) {
        if (c === 45) return -1; // another flag follows
      } else {
        // `password is x`, `token was x`
        const word = text.slice(k, Math.min(k + 4, n)).toLowerCase();
        const verb = word.startsWith('is ') ? 2 : word.startsWith('was ') ? 3 : 0;
        if (verb === 0) return -1;
        const at = skipSpaces(k + verb);
        const [s, e, resume] = valueAt(at, false);
        if (e - s <= MAX_NAME && describesSecret(text.slice(s, e))) return -1;
        add(s, e);
        return resume;
      }
    }
    k = skipSpaces(k);
    if (k >= n || isLineEnd(code(k))) return -1;
    if (kind === 'authorization') {
      // Keep the scheme: `Authorization: Bearer x` -> `Authorization: Bearer [REDACTED]`; Go prints
      // headers as `map[Authorization:[Bearer x]]`.
      while (code(k) === 91) k += 1;
      const quoted = code(k) === BACKSLASH || isQuote(code(k));
      const [s, e, resume] = valueAt(k, false);
      let j = s;
      while (j < e && (is(text.charCodeAt(j), ALNUM) || text.charCodeAt(j) === 45)) j += 1;
      const scheme = AUTH_SCHEMES.has(text.slice(s, j).toLowerCase()) && j < n && isSpace(text.charCodeAt(j));
      if (!scheme) {
        add(s, e);
        return resume;
      }
      const credentials = skipSpaces(j);
      if (quoted) {
        add(credentials, e);
        return resume;
      }
      if (credentials >= n || isLineEnd(code(credentials))) return resume;
      const [cs, ce, after] = valueAt(credentials, false);
      add(cs, ce);
      return after;
    }
    const toLineEnd = separator === 'colon' && (kind === 'cookie' || startsLine(nameStart));
    const [s, e, resume] = valueAt(k, toLineEnd);
    add(s, e);
    return resume;
  }

  /** Looks at the run of name characters [start, end); returns where the scan resumes (> start). */
  function run(start: number, end: number): number {
    const shapeEnd = keyShapeEnd(start, end);
    if (shapeEnd > start) {
      add(start, shapeEnd);
      return shapeEnd;
    }
    if (end - start > MAX_NAME) return end;
    const meaning = meaningOf(text, start, end);
    if (meaning.clientFlag) {
      state.clientFlag = meaning.clientFlag;
      return end;
    }
    const before = start > 0 ? text.charCodeAt(start - 1) : -1;
    const flag = state.clientFlag;
    if (flag && code(start) === 45 && text.startsWith(flag, start + 1) && (before < 0 || isWhite(before) || isQuote(before))) {
      const resume = clientPassword(start);
      if (resume >= 0) return resume;
    }
    if (meaning.bearer) {
      const resume = bearerToken(end);
      return resume >= 0 ? resume : end;
    }
    // A path component (`/etc/passwd: ...`) is not a setting's name.
    if (meaning.kind === 'none' || before === SLASH) return end;
    const resume = secretValue(start, end, meaning.dashes > 0 && meaning.dashes <= 2, meaning.kind);
    return resume >= 0 ? resume : end;
  }

  let i = 0;
  while (i < n) {
    if (!is(text.charCodeAt(i), NAME)) {
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < n && is(text.charCodeAt(end), NAME)) end += 1;
    i = run(i, end);
  }

  urlPasswords(text, cut, add);
  secretUrlPaths(text, add);
  privateKeyBlocks(text, add);
  return ranges;
}

/** `scheme://user:password@host`: the password (all of the user info up to its last `@`). */
function urlPasswords(text: string, cut: boolean, add: (start: number, end: number) => void): void {
  const n = text.length;
  let from = 0;
  for (;;) {
    const at = text.indexOf('://', from);
    if (at < 0) return;
    let colon = -1;
    let lastAt = -1;
    let j = at + 3;
    for (; j < n; j += 1) {
      const c = text.charCodeAt(j);
      if (c === SLASH || c === 63 || c === 35 || isWhite(c) || isQuote(c) || c === 60 || c === 62) break;
      if (c === 58 && colon < 0) colon = j;
      else if (c === 64) lastAt = j;
    }
    if (colon >= 0 && lastAt > colon) add(colon + 1, lastAt);
    else if (colon >= 0 && lastAt < 0 && cut && j === n) add(colon + 1, n);
    from = Math.max(j, at + 3);
  }
}

/** Incoming webhook URLs and bot URLs: everything after the host and fixed path. */
function secretUrlPaths(text: string, add: (start: number, end: number) => void): void {
  for (const marker of SECRET_URL_PATHS) {
    let from = 0;
    for (;;) {
      const at = text.indexOf(marker, from);
      if (at < 0) break;
      const start = at + marker.length;
      let j = start;
      while (j < text.length && !endsUnquoted(text.charCodeAt(j)) && text.charCodeAt(j) !== 41 && text.charCodeAt(j) !== 62) j += 1;
      add(start, j);
      from = Math.max(j, start);
    }
  }
}

/** `-----BEGIN ... PRIVATE KEY-----` blocks: the body, up to `-----END` or the end of the text. */
function privateKeyBlocks(text: string, add: (start: number, end: number) => void): void {
  const header = '-----BEGIN ';
  let from = 0;
  for (;;) {
    const begin = text.indexOf(header, from);
    if (begin < 0) return;
    const labelEnd = text.indexOf('-----', begin + header.length);
    if (labelEnd < 0) return;
    if (labelEnd - begin > 100 || !text.slice(begin + header.length, labelEnd).includes('PRIVATE KEY')) {
      from = labelEnd;
      continue;
    }
    const body = labelEnd + 5;
    const end = text.indexOf('-----END', body);
    add(body, end < 0 ? text.length : end);
    if (end < 0) return;
    from = end + 8;
  }
}

/** `text` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

function redactWith(text: string, max: number, state: ScanState): string {
  const cut = text.length > max;
  const input = cut ? cutText(text, max) : text;
  const ranges = secretRanges(input, cut, state);
  if (ranges.length === 0) return input;
  const order: number[] = [];
  for (let r = 0; r < ranges.length; r += 2) order.push(r);
  order.sort((a, b) => (ranges[a] as number) - (ranges[b] as number));
  let out = '';
  let kept = 0;
  for (const r of order) {
    const start = ranges[r] as number;
    const end = ranges[r + 1] as number;
    if (end <= kept) continue;
    if (start >= kept) out += input.slice(kept, start) + REDACTED;
    kept = end;
  }
  out += input.slice(kept);
  return cutText(out, max);
}

/**
 * Scrubs secret-looking values from free text (log lines, commands, event attributes): the first
 * `max` characters of `text` are redacted, and the result is cut to `max` again (a `[REDACTED]`
 * is longer than a short secret).
 */
export function redactText(text: string, max: number = MAX_REDACTED_TEXT): string {
  return redactWith(text, max, { clientFlag: undefined });
}

/** `NAME=value` -> `NAME=[REDACTED]`: env values are never kept, whatever the name. */
export function redactEnv(env: readonly string[] | null | undefined): string[] {
  return (env ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? cutText(pair, MAX_ARGUMENT) : `${cutText(pair.slice(0, eq), MAX_ARGUMENT)}=${REDACTED}`;
  });
}

/**
 * Whether a setting's name (a label key, an attribute, a flag without its dashes) says its value is
 * a secret: `db.password`, `splunk-token`, `example.com/api-key`; not `password_policy` or
 * `token_ttl`. Only its last run of name characters counts (`a/b:c` -> `c`).
 */
export function isSecretName(name: string): boolean {
  let start = name.length;
  while (start > 0 && is(name.charCodeAt(start - 1), NAME)) start -= 1;
  return name.length - start <= MAX_NAME && nameKind(name.slice(start)) !== 'none';
}

/** Whether `arg` is a flag whose value is the next argument: `--password`, `-p` after `mysql`. */
function takesSecretNext(arg: string, state: ScanState): boolean {
  if (state.clientFlag && arg === `-${state.clientFlag}`) return true;
  const dashes = arg.startsWith('--') ? 2 : arg.startsWith('-') ? 1 : 0;
  if (dashes === 0 || arg.length > MAX_NAME) return false;
  for (let i = dashes; i < arg.length; i += 1) if (!is(arg.charCodeAt(i), NAME)) return false;
  return isSecretName(arg.slice(dashes));
}

/**
 * Redacts a command's arguments (each cut to MAX_ARGUMENT first): secret-looking `--flag value`
 * pairs and inline values, plus the argument after a secret-named flag written on its own
 * (`--password`, `hunter2`) or after a client's password flag (`mysql`, `-p`, `hunter2`).
 */
export function redactArgs(args: readonly string[] | null | undefined): string[] {
  const out: string[] = [];
  const state: ScanState = { clientFlag: undefined };
  let hideNext = false;
  for (const arg of args ?? []) {
    if (hideNext) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    const redacted = redactWith(arg, MAX_ARGUMENT, state);
    hideNext = takesSecretNext(arg, state);
    out.push(redacted);
  }
  return out;
}
