/**
 * `tap-hotjar --about [--format json|markdown]` (text without --format): what the tap is, its capabilities and settings,
 * laid out like the Meltano Singer SDK's `--about` output (singer_sdk/about.py: TextFormatter,
 * JSONFormatter, MarkdownFormatter), so tools that read an SDK tap's `--about` read this one too.
 *
 * Pure and self-contained (no imports): the caller reads the version from package.json, passes it in
 * and writes the result followed by one newline, as the SDK's `print` does.
 *
 * Where the SDK's output would say something untrue of this tap, it is left out or replaced:
 * - `sdk_version` is null (JSON) / `None` (text): the tap is not built with the Meltano Singer SDK,
 *   and the Markdown page says so in place of the SDK's "Built with the Meltano Singer SDK" line;
 * - the text format's "Environment Variable" lines appear only when `envVarPrefix` is set, since the
 *   SDK's `<NAME>_<SETTING>` environment configuration exists only where the tap implements it;
 * - `supported_python_versions` is null, and its sections are omitted, as the SDK does when unknown.
 */

/** Singer capabilities, as Meltano Hub spells them (singer_sdk/helpers/capabilities.py). */
export type Capability =
  | 'about'
  | 'catalog'
  | 'discover'
  | 'state'
  | 'properties'
  | 'test'
  | 'log-based'
  | 'stream-maps'
  | 'schema-flattening'
  | 'activate-version'
  | 'batch'
  | 'structured-logging';

/** Meltano setting kinds (meltano/hub schemas/common/base_setting.schema.json), the ones a tap uses. */
export type SettingKind =
  'string' | 'password' | 'email' | 'integer' | 'decimal' | 'boolean' | 'date_iso8601' | 'options' | 'array' | 'object';

export type JsonScalar = string | number | boolean | null;

export interface AboutSetting {
  /** Config key; a dotted name (`credentials.client_id`) is a key inside an object setting. */
  readonly name: string;
  readonly kind: SettingKind;
  readonly description: string;
  /** A secret: redacted by Meltano, and `"secret": true, "writeOnly": true` in the JSON schema. */
  readonly sensitive: boolean;
  readonly required?: boolean;
  readonly default?: JsonScalar;
  /** JSON type of the items of an `array` setting. */
  readonly items?: 'string' | 'integer' | 'number' | 'boolean';
  /** Allowed values of an `options` setting. */
  readonly options?: readonly string[];
}

export interface AboutInfo {
  readonly name: string;
  readonly description: string;
  readonly capabilities: readonly Capability[];
  readonly settings: readonly AboutSetting[];
  /** Prefix of the environment variables that configure the tap, when it supports them. */
  readonly envVarPrefix?: string;
}

export type AboutFormat = 'text' | 'json' | 'markdown';

/**
 * About tap-hotjar. The version is not here: the caller reads it from package.json (the one version
 * of the npm package, the Docker image and metadata.yaml) and passes it to {@link formatAbout}.
 * The settings are spec.json's properties, in its order, with the same descriptions; `credentials` is
 * followed by its fields (dotted names, nested in the JSON schema), so the secrets inside it are marked.
 */
export const ABOUT: AboutInfo = {
  name: 'tap-hotjar',
  description: 'Singer tap for Hotjar survey responses.',
  capabilities: ['catalog', 'discover', 'state', 'about'],
  settings: [
    {
      name: 'credentials',
      kind: 'object',
      sensitive: false,
      description:
        'How the connector logs in to Hotjar. "API key" uses Hotjar\'s official API (api.hotjar.io) with an API key (client ID and secret) made by an organization admin under Settings > API; reading survey responses this way needs the Ask Scale plan, and it works for organizations that use single sign-on (SSO) or two-factor authentication. "Email and password" logs in to Hotjar\'s internal web API as the dashboard does; accounts that use SSO or two-factor authentication cannot log in this way. Configs written before this choice existed, with top-level email and password, keep working.',
    },
    {
      name: 'credentials.auth_type',
      kind: 'options',
      options: ['api_key', 'password'],
      sensitive: false,
      description: 'Which way in: api_key (client_id and client_secret) or password (email and password).',
    },
    {
      name: 'credentials.client_id',
      kind: 'string',
      sensitive: false,
      description: 'Client ID of the Hotjar API key (Settings > API in Hotjar, organization admins).',
    },
    {
      name: 'credentials.client_secret',
      kind: 'password',
      sensitive: true,
      description: "Client secret of the Hotjar API key. It is sent only to Hotjar's token endpoint (api_base_url) and never printed.",
    },
    {
      name: 'credentials.email',
      kind: 'email',
      sensitive: false,
      description:
        'Email address of the Hotjar user whose surveys are exported. The account must log in with email and password: accounts that use two-factor authentication or single sign-on (SSO) cannot log in this way.',
    },
    {
      name: 'credentials.password',
      kind: 'password',
      sensitive: true,
      description: 'Password of that Hotjar user. It is sent only to the Hotjar API (base_url) and never printed.',
    },
    {
      name: 'site_id',
      kind: 'string',
      required: true,
      sensitive: false,
      description:
        'Numeric ID of the Hotjar site (the number in insights.hotjar.com/site/<site_id>/..., also on the Sites & Organizations page), without leading zeros. A JSON number is accepted too.',
    },
    {
      name: 'survey_ids',
      kind: 'array',
      items: 'string',
      sensitive: false,
      description:
        'Optional. IDs of the surveys to export (the number in .../surveys/<survey_id>/responses). Left out or empty, every survey of the site is exported, and a survey created later is picked up by the next sync. With email and password the IDs are numbers without leading zeros; JSON numbers are accepted too.',
    },
    {
      name: 'start_date',
      kind: 'date_iso8601',
      sensitive: false,
      description:
        "Optional. Responses submitted before this moment are never read. YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time such as 2024-01-31T12:00:00Z; a date-time without a zone is taken as UTC, like Hotjar's own timestamps. Years 1970-9999.",
    },
    {
      name: 'api_base_url',
      kind: 'string',
      default: 'https://api.hotjar.io',
      sensitive: false,
      description:
        "Advanced. Base URL of Hotjar's official API, used with API key credentials (the token endpoint and every API call go there). Change it only to point the connector at a stand-in for testing: it must be https://, except for a loopback host (127.0.0.1, localhost), where http:// is allowed.",
    },
    {
      name: 'base_url',
      kind: 'string',
      default: 'https://insights.hotjar.com/api',
      sensitive: false,
      description:
        "Advanced. Base URL of Hotjar's internal API, used with email and password. Change it only to point the connector at a stand-in for testing: it must be https://, except for a loopback host (127.0.0.1, localhost), where http:// is allowed.",
    },
    {
      name: 'max_attempts',
      kind: 'integer',
      default: 5,
      sensitive: false,
      description:
        'Advanced. How many times a request (login, export, download) is tried before the sync fails, counting the first try. Retries use exponential backoff with jitter.',
    },
    {
      name: 'max_retry_wait_seconds',
      kind: 'decimal',
      default: 60,
      sensitive: false,
      description:
        "Advanced. The longest backoff pause between two attempts. A server's Retry-After is honoured up to the same limit, before the backoff.",
    },
    {
      name: 'request_timeout_seconds',
      kind: 'decimal',
      default: 300,
      sensitive: false,
      description:
        'Advanced. The longest silence allowed while waiting for Hotjar to start answering or while a download is under way, before the attempt counts as failed. Hotjar builds an export before answering, so large surveys need a generous value.',
    },
    {
      name: 'request_deadline_seconds',
      kind: 'decimal',
      default: 1800,
      sensitive: false,
      description:
        'Advanced. The longest any one request (login, export, whole download) may take from start to end, however steadily data trickles in; past it the attempt counts as failed and is retried.',
    },
    {
      name: 'max_export_bytes',
      kind: 'integer',
      default: 17179869184,
      sensitive: false,
      description: 'Advanced. An export whose CSV inflates beyond this many bytes is refused as a possible zip bomb. Default 16 GiB.',
    },
    {
      name: 'max_export_ratio',
      kind: 'decimal',
      default: 10000,
      sensitive: false,
      description:
        'Advanced. An export that inflates more than this many times its compressed size (checked once it is past 1/64 of the largest export size: 256 MiB by default) is refused as a possible zip bomb. Real exports of repetitive answers reach a few hundred.',
    },
    {
      name: 'max_field_bytes',
      kind: 'integer',
      default: 16777216,
      sensitive: false,
      description:
        'Advanced. A single response (one CSV row, all its answers together) larger than this is reported as a data error naming the survey and line, so memory never follows one giant cell.',
    },
    {
      name: 'heartbeat_seconds',
      kind: 'decimal',
      default: 60,
      sensitive: false,
      description:
        "Advanced. While a sync has nothing else to say (Hotjar building a large export, a long Retry-After wait), it logs a line this often, so a platform's watchdog never ends a healthy sync.",
    },
    {
      name: 'email',
      kind: 'email',
      sensitive: false,
      description:
        'Deprecated: use credentials (Email and password). Email address of the Hotjar user, for configs written before credentials existed; used only when credentials is not given.',
    },
    {
      name: 'password',
      kind: 'password',
      sensitive: true,
      description:
        'Deprecated: use credentials (Email and password). Password of that Hotjar user, for configs written before credentials existed; sent only to the Hotjar API (base_url) and never printed.',
    },
    {
      name: 'max_concurrent_surveys',
      kind: 'integer',
      default: 4,
      sensitive: false,
      description:
        "Advanced. How many surveys are read at the same time (in password mode: exported, downloaded and parsed; in API-key mode: paged); their records interleave, and each survey's state is saved as soon as it is done. Hotjar takes seconds to minutes to build each export, so a few at once save most of that wait. The default, 4, keeps the load on Hotjar modest and bounds what the connector holds at once (each survey being read in password mode has its export on disk in the temporary folder). 1 reads surveys one after another.",
    },
    {
      name: 'max_requests_per_second',
      kind: 'integer',
      default: 40,
      sensitive: false,
      description:
        "Advanced. API-key mode only: the most requests a second the connector sends to Hotjar's official API (token, pages and retries together, in bursts of at most this many). Hotjar's limit is cited by public clients as 3,000 requests a minute per source IP (50 a second); the default, 40, is 80% of it, so that pages of surveys read side by side are not held back while other clients on the same IP keep some room. A 429 is still honoured (Retry-After, then backoff). Lower it when other tools call Hotjar's API from the same IP.",
    },
  ],
};

/** A JSON Schema object as the SDK's `--about` carries it under `settings`. */
export interface SettingsSchema {
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
}

export interface PropertySchema {
  type: string;
  description?: string;
  default?: JsonScalar;
  format?: string;
  enum?: string[];
  items?: { type: string };
  secret?: true;
  writeOnly?: true;
  properties?: Record<string, PropertySchema>;
  required?: string[];
}

const JSON_TYPE: Record<SettingKind, string> = {
  string: 'string',
  password: 'string',
  email: 'string',
  date_iso8601: 'string',
  options: 'string',
  integer: 'integer',
  decimal: 'number',
  boolean: 'boolean',
  array: 'array',
  object: 'object',
};

function propertySchema(s: AboutSetting): PropertySchema {
  const p: PropertySchema = { type: JSON_TYPE[s.kind] };
  if (s.description) p.description = s.description;
  if (s.default !== undefined) p.default = s.default;
  if (s.kind === 'email') p.format = 'email';
  if (s.kind === 'options' && s.options) p.enum = [...s.options];
  if (s.kind === 'array') p.items = { type: s.items ?? 'string' };
  if (s.sensitive) {
    p.secret = true;
    p.writeOnly = true;
  }
  return p;
}

/** The settings as one JSON Schema object; dotted names become nested object properties. */
export function settingsSchema(settings: readonly AboutSetting[]): SettingsSchema {
  const root: SettingsSchema = { type: 'object', properties: {} };
  for (const s of settings) {
    const path = s.name.split('.');
    const leaf = path.pop() ?? s.name;
    let holder: { properties?: Record<string, PropertySchema>; required?: string[] } = root;
    for (const part of path) {
      const props: Record<string, PropertySchema> = (holder.properties ??= {});
      const next: PropertySchema = (props[part] ??= { type: 'object', properties: {} });
      if (next.type !== 'object') throw new Error(`setting ${s.name}: ${part} is not an object setting`);
      holder = next;
    }
    const props: Record<string, PropertySchema> = (holder.properties ??= {});
    const existing = props[leaf];
    // An object setting declared before its dotted children keeps them.
    props[leaf] = existing?.properties ? { ...propertySchema(s), properties: existing.properties } : propertySchema(s);
    if (s.required) (holder.required ??= []).push(leaf);
  }
  return root;
}

/** Python's str() of a JSON value, as the SDK's f-strings render it. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? '';
}

/** Python's repr() of a JSON value (strings quoted as Python quotes them). */
function pyRepr(v: unknown): string {
  if (typeof v !== 'string') return pyStr(v);
  const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
  const body = v
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(new RegExp(quote, 'g'), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

/** json.dumps(..., indent=2): JSON.stringify's layout, plus Python's ensure_ascii escaping. */
function pythonJsonDumps(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatText(about: AboutInfo, version: string, schema: SettingsSchema): string {
  let out = `Name: ${about.name}\nDescription: ${about.description}\nVersion: ${version}\nSDK Version: None`;
  out += '\nCapabilities:\n';
  out += about.capabilities.map((c) => `  - ${c}`).join('\n');
  out += '\nSettings:\n';
  for (const [name, prop] of Object.entries(schema.properties)) {
    out += `  - Name: ${name}\n`;
    out += `    Type: ${pyStr(prop.type)}\n`;
    if (about.envVarPrefix !== undefined) {
      out += `    Environment Variable: ${about.envVarPrefix}${name.toUpperCase().replace(/-/g, '_')}\n`;
    }
  }
  return out;
}

function formatJson(about: AboutInfo, version: string, schema: SettingsSchema): string {
  return pythonJsonDumps({
    name: about.name,
    description: about.description,
    version,
    sdk_version: null,
    supported_python_versions: null,
    capabilities: [...about.capabilities],
    settings: schema,
  });
}

function markdownRows(schema: { properties?: Record<string, PropertySchema>; required?: string[] }, parent: string): string[] {
  const rows: string[] = [];
  const required = schema.required ?? [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const settingName = parent ? `${parent}.${name}` : name;
    const description = (prop.description ?? '').replace(/\n/g, '<BR/>');
    rows.push(`| ${settingName} | ${required.includes(name) ? 'True' : 'False'} | ${pyStr(prop.default)} | ${description} |`);
    if (prop.properties) rows.push(...markdownRows(prop, settingName));
  }
  return rows;
}

function formatMarkdown(about: AboutInfo, schema: SettingsSchema): string {
  let out = `# \`${about.name}\`\n\n${about.description}\n\n`;
  out +=
    'Built in TypeScript for Node.js (npm package `source-hotjar`), not with the ' +
    "[Meltano Singer SDK](https://sdk.meltano.com); this page follows the SDK's `--about` layout.\n\n";
  out += '## Capabilities\n\n';
  out += about.capabilities.map((c) => `- \`${c}\``).join('\n');
  out += '\n\n';
  out += '## Settings\n\n';
  out += '| Setting | Required | Default | Description |\n|:--------|:--------:|:-------:|:------------|\n';
  out += markdownRows(schema, '').join('\n');
  out += `\n\nA full list of supported settings and capabilities is available by running: \`${about.name} --about\`\n`;
  return out;
}

/**
 * The `--about` output in the given format, without the final newline that the caller prints after it
 * (as the SDK's `print` adds one).
 */
export function formatAbout(about: AboutInfo, format: AboutFormat, version: string): string {
  const schema = settingsSchema(about.settings);
  switch (format) {
    case 'text':
      return formatText(about, version, schema);
    case 'json':
      return formatJson(about, version, schema);
    case 'markdown':
      return formatMarkdown(about, schema);
    default: {
      const never: never = format;
      throw new Error(`unknown --about format: ${String(never)}`);
    }
  }
}
