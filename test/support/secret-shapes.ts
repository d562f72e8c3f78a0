// Secrets as they show up in real log lines, labels and command lines, and look-alikes that must
// come through unchanged. The unit test runs them through the redactor; the e2e test puts them in
// a real container's labels, command and logs and looks for them in the store, the API and a
// notification. Hostile lines are what the redactor bench and its linearity test time.

/** A text holding a secret; `secret` must not survive redaction (the rest of the text may). */
export interface SecretCase {
  text: string;
  secret: string;
  /** Found only as a line of its own: an unquoted YAML value runs to the end of the line there. */
  ownLine?: true;
}

const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqd3Qtc2VjcmV0LTEyMzQifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const RSA_BODY = 'MIIEowIBAAKCAQEArsaBodyOfTheKey0123456789abcdefGHIJKLMNOPQRSTUVWXYZ';
const OPENSSH_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABopensshBody';

export const SECRET_CASES: SecretCase[] = [
  // Named settings: flags, env-style, dotted, YAML, JSON, Python and Ruby hashes.
  { text: 'worker --password=Sup3rSecretPw01', secret: 'Sup3rSecretPw01' },
  { text: 'worker --password Sup3rSecretPw02 --verbose', secret: 'Sup3rSecretPw02' },
  { text: 'PASSWORD=Sup3rSecretPw03', secret: 'Sup3rSecretPw03' },
  { text: 'MYSQL_ROOT_PASSWORD=Sup3rSecretPw04', secret: 'Sup3rSecretPw04' },
  { text: 'spring.datasource.password=Sup3rSecretPw05 loaded', secret: 'Sup3rSecretPw05' },
  { text: 'level=info token: tokValue06abc', secret: 'tokValue06abc' },
  { text: '{"user":"bob","apiKey":"apiKeyValue07xyz"}', secret: 'apiKeyValue07xyz' },
  { text: '{"password": "two words08 here", "user": "bob"}', secret: 'two words08 here' },
  { text: 'config: password: "quoted yaml09 value"', secret: 'quoted yaml09 value' },
  { text: '  password: plain yaml10 words', secret: 'plain yaml10 words', ownLine: true },
  { text: '- db_password: listed yaml11 value', secret: 'listed yaml11 value', ownLine: true },
  { text: '{"msg":"login","body":"{\\"password\\":\\"nested json12 pw\\"}"}', secret: 'nested json12 pw' },
  { text: "params={'password': 'python dict13'}", secret: 'python dict13' },
  { text: 'options = { password => "ruby hash14" }', secret: 'ruby hash14' },
  { text: 'PGPASSWORD=PgPassword15 psql -h db', secret: 'PgPassword15' },
  { text: 'export AWS_SESSION_TOKEN=SessionToken16xyz', secret: 'SessionToken16xyz' },
  { text: `aws_secret_access_key = ${AWS_SECRET}`, secret: AWS_SECRET },
  { text: 'client_secret=ClientSecret18abc&grant_type=client_credentials', secret: 'ClientSecret18abc' },
  { text: 'GET /oauth/cb?code=1&access_token=AccessToken19xyz&state=2 200', secret: 'AccessToken19xyz' },
  { text: 'refresh_token: RefreshToken20xyz', secret: 'RefreshToken20xyz' },
  { text: 'SECRET_KEY_BASE=SecretKeyBase21abcdef', secret: 'SecretKeyBase21abcdef' },
  { text: 'X-Api-Key: XApiKeyValue22', secret: 'XApiKeyValue22' },
  { text: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AzureAccountKey23==;EndpointSuffix=core.windows.net', secret: 'AzureAccountKey23==' },
  { text: 'docker login --username me --password DockerHubPw24', secret: 'DockerHubPw24' },
  { text: 'app -token CliToken25abc -v', secret: 'CliToken25abc' },
  { text: 'password=Pw26value,user=bob', secret: 'Pw26value' },
  { text: 'login ok; the password is Hunter2Pw27', secret: 'Hunter2Pw27' },
  // HTTP credentials: the scheme is kept, the credentials go.
  { text: 'Authorization: Bearer bearerTok28abcdef', secret: 'bearerTok28abcdef' },
  { text: 'authorization: Basic dXNlcjpwYXNzMjk=', secret: 'dXNlcjpwYXNzMjk=' },
  { text: '{"headers":{"Authorization":"Bearer jsonBearer30xyz"}}', secret: 'jsonBearer30xyz' },
  { text: 'Authorization: token ghTokenValue31abc', secret: 'ghTokenValue31abc' },
  { text: 'curl -H "Authorization: Bearer curlBearer32abcdef" https://api.example.com', secret: 'curlBearer32abcdef' },
  { text: 'upstream call with Bearer standalone33AbCdEf failed', secret: 'standalone33AbCdEf' },
  { text: 'Proxy-Authorization: Basic cHJveHk6cHczNA==', secret: 'cHJveHk6cHczNA==' },
  { text: 'request headers map[Accept:[*/*] Authorization:[Bearer goMapBearer66xyz]]', secret: 'goMapBearer66xyz' },
  { text: 'Cookie: session=CookieValue35; theme=dark', secret: 'CookieValue35' },
  { text: 'Set-Cookie: sid=SetCookieValue36; Path=/; HttpOnly', secret: 'SetCookieValue36' },
  // Client commands that take a password with a short flag.
  { text: 'mysql -uroot -pMysqlPw37 -h db app', secret: 'MysqlPw37' },
  { text: "mysqldump -u root -p'Mysql Pw38' app", secret: 'Mysql Pw38' },
  { text: 'sshpass -p SshPassPw39 ssh deploy@host', secret: 'SshPassPw39' },
  { text: 'redis-cli -h cache -a RedisPw40 ping', secret: 'RedisPw40' },
  // Credentials in URLs.
  { text: 'pg: connect failed (postgres://app:UrlPassword41@db:5432/app)', secret: 'UrlPassword41' },
  { text: 'REDIS_URL=redis://:RedisUrlPw42@cache:6379/0', secret: 'RedisUrlPw42' },
  { text: 'posting to https://hooks.slack.com/services/T0AAAA043/B0BBBB043/SlackHookSecret43xyz', secret: 'SlackHookSecret43xyz' },
  { text: 'webhook=https://discord.com/api/webhooks/1234567890/DiscordHookSecret44xyz', secret: 'DiscordHookSecret44xyz' },
  // Key formats recognized without a name.
  { text: 'stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc45', secret: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc45' },
  { text: 'restricted rk_live_51H8abcdefGHIJKLmnop46', secret: 'rk_live_51H8abcdefGHIJKLmnop46' },
  { text: 'slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp47', secret: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp47' },
  { text: 'user xoxp-123456789012-1234567890123-1234567890123-abcdef48', secret: 'xoxp-123456789012-1234567890123-1234567890123-abcdef48' },
  { text: 'git clone using ghp_abcdefghijklmnopqrstuvwxyz0123456749', secret: 'ghp_abcdefghijklmnopqrstuvwxyz0123456749' },
  { text: 'github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyzABCDEFGHIJ50 used', secret: 'github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyzABCDEFGHIJ50' },
  { text: 'aws key AKIAIOSFODNN7EXAMP51 in use', secret: 'AKIAIOSFODNN7EXAMP51' },
  { text: 'temporary ASIAY34FZKBOKMUTVV52 expired', secret: 'ASIAY34FZKBOKMUTVV52' },
  { text: 'gitlab glpat-xYz0123456789abcdEF53 rejected', secret: 'glpat-xYz0123456789abcdEF53' },
  { text: 'maps AIzaSyA1234567890abcdefghijklmnopqrst54', secret: 'AIzaSyA1234567890abcdefghijklmnopqrst54' },
  { text: 'npm_abcdefghijklmnopqrstuvwxyz0123456755 published', secret: 'npm_abcdefghijklmnopqrstuvwxyz0123456755' },
  { text: 'hf_abcdefghijklmnopqrstuvwxyzABCDEFG56', secret: 'hf_abcdefghijklmnopqrstuvwxyzABCDEFG56' },
  { text: 'dckr_pat_abcdefghijklmnopqrstuvwx57', secret: 'dckr_pat_abcdefghijklmnopqrstuvwx57' },
  { text: 'openai sk-proj-abcdefghijklmnopqrstuvwxyz012345678958', secret: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345678958' },
  { text: 'mail SG.abcdefghijklmnopqrstuv.wxyzABCDEFGHIJKLMNOPQRSTUV0123456789abcdefg59', secret: 'SG.abcdefghijklmnopqrstuv.wxyzABCDEFGHIJKLMNOPQRSTUV0123456789abcdefg59' },
  { text: 'stripe webhook whsec_abcdefghijklmnopqrstuvwxyz012360', secret: 'whsec_abcdefghijklmnopqrstuvwxyz012360' },
  { text: 'vault hvs.CAESIabcdefghijklmnopqrstuvwxyz61', secret: 'hvs.CAESIabcdefghijklmnopqrstuvwxyz61' },
  { text: 'google ya29.a0AfH6SMabcdefghijklmnopqrstuv62', secret: 'ya29.a0AfH6SMabcdefghijklmnopqrstuv62' },
  { text: `session ${JWT} accepted`, secret: JWT },
  { text: `key: -----BEGIN RSA PRIVATE KEY-----\\n${RSA_BODY}\\n-----END RSA PRIVATE KEY-----`, secret: RSA_BODY },
  { text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${OPENSSH_BODY}\n-----END OPENSSH PRIVATE KEY-----`, secret: OPENSSH_BODY },
];

/** Texts that hold no secret and must come through the redactor unchanged. */
export const LOOK_ALIKES: string[] = [
  'password_policy=strict',
  'tokens processed: 5',
  'see passwd(5) for the format',
  'commit 3f786850e387550fdab836ed7e6dc881de23001b',
  'request 123e4567-e89b-12d3-a456-426614174000 done',
  'Authorization required',
  'GET https://example.com/api/v1/items?page=2 200',
  'max_tokens=4096',
  'token_type=Bearer',
  'cat: /etc/passwd: No such file or directory',
  'password is incorrect',
  'token is expired',
  'author=Jane',
  'bypass=true',
  'gcc -pthread -pipe -O2 -o app main.c',
  'docker run -p8080:80 nginx',
  'ssh://git@github.com/org/repo.git',
  'password reset email sent to user 42',
  'WWW-Authenticate: Bearer realm="api"',
  'echo $PW | docker login --password-stdin -u me',
  'Enter password:',
  'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'password_file=/run/secrets/db',
  'auth_method=oauth2',
  'sort_key=name',
  'AKIA is the prefix of AWS access key ids',
  'header eyJhbGciOiJIUzI1NiJ9 only',
  'sk-learn 1.4.0 installed',
  'Bearer authentication failed',
  'token_ttl=3600',
  'secret_name=db-credentials',
  'Connection to http://localhost:8080/health refused',
  'key-value store ready',
];

/** `unit` repeated to exactly `length` characters. */
const repeated = (unit: string) => (length: number) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

/** Lines built to make a backtracking matcher take quadratic or exponential time, by length. */
export const HOSTILE_LINES: Record<string, (length: number) => string> = {
  '"password" repeated': repeated('password'),
  '"a=" repeated': repeated('a='),
  '"--token " repeated': repeated('--token '),
  'one run of [A-Za-z0-9_.-]': repeated('a.b-c_d9'),
  'one run of lower-case letters': repeated('a'),
  'one base64 run': repeated('QUJD+/09'),
  '"Bearer " repeated': repeated('Bearer '),
  '"password is " repeated': repeated('password is '),
  'unclosed quoted values': repeated('"password": "'),
  '"token:" repeated': repeated('token:'),
  '"://a:" repeated': repeated('://a:'),
  '"u:p@" repeated': repeated('u:p@'),
  '"-----BEGIN " repeated': repeated('-----BEGIN '),
  'private key headers repeated': repeated('-----BEGIN PRIVATE KEY-----'),
  'webhook paths repeated': repeated('hooks.slack.com/services/'),
  'JWT-like run': (length) => `eyJ${repeated('a.')(length - 3)}`,
  '"mysql -p" repeated': repeated('mysql -p '),
  '"Authorization: Bearer " repeated': repeated('Authorization: Bearer '),
  'spaces after a name': (length) => `password${' '.repeat(length - 8)}`,
  '"sk_live_" repeated': repeated('sk_live_'),
};

