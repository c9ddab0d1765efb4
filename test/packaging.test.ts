/**
 * Packaging checks, in-process and offline: the Airbyte metadata, CAT config, SPEC fixture, configured
 * catalogs, docs page, icon, changelogs and the Meltano plugin definition agree with each other, with
 * package.json and the Dockerfile, and with the public schemas vendored in test/fixtures (see its README).
 * Each validator also gets a broken input, so a schema or checker that accepts everything fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ABOUT, formatAbout } from '../src/singer/about.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ROOT = resolve(import.meta.dirname, '..');
const text = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
const json = <T = unknown>(rel: string): T => JSON.parse(text(rel)) as T;
const yaml = <T = unknown>(rel: string): T => parseYaml(text(rel)) as T;
const clone = <T>(v: T): T => structuredClone(v);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} is not an object`);
  return v;
};

/** The object at `path` inside `root` (arrays indexed by number), for reading and mutating fixtures. */
function at(root: unknown, ...path: (string | number)[]): Obj {
  let v: unknown = root;
  for (const key of path) v = Array.isArray(v) ? v[key as number] : isObj(v) ? v[key as string] : undefined;
  return obj(v, path.join('.'));
}

const pkg = json<{ version: string }>('package.json');
const spec = json<{ properties: Record<string, Obj>; required: string[] }>('spec.json');
const metadataDoc = yaml<Obj>('metadata.yaml');
const metadata = obj(metadataDoc['data'], 'metadata.yaml data');
const cat = yaml<Obj>('acceptance-test-config.yml');
const specFixture = json<Obj>('integration_tests/spec.json');
const meltano = yaml<Obj>('meltano/tap-hotjar.yml');

interface MeltanoSetting {
  name: string;
  kind?: string;
  sensitive?: boolean;
  value?: unknown;
  options?: { label: string; value: string }[];
}
const meltanoSettings = (meltano['settings'] ?? []) as MeltanoSetting[];

function compile(schemaFile: string, options: ConstructorParameters<typeof Ajv>[0] = {}): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, ...options });
  addFormats(ajv);
  return ajv.compile(json(schemaFile));
}
const errorsOf = (v: ValidateFunction): string => JSON.stringify(v.errors, null, 1);

function protocolValidator(definition: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  const schema = json<{ $id: string }>('test/fixtures/airbyte_protocol.schema.json');
  ajv.addSchema(schema);
  const v = ajv.getSchema(`${schema.$id}#/definitions/${definition}`);
  if (!v) throw new Error(`no ${definition} in the protocol schema`);
  return v;
}

// ---- Dockerfile ------------------------------------------------------------------------------------

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerInstructions(): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text('Dockerfile').split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = '';
  }
  return out;
}

function dockerLabels(): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const ins of dockerInstructions().filter((i) => /^LABEL\s/i.test(i))) {
    for (const m of ins.replace(/^LABEL\s+/i, '').matchAll(/([\w.-]+)=("[^"]*"|\S+)/g)) {
      labels[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    }
  }
  return labels;
}

/** The image of every FROM (stage names and --platform flags dropped). */
function dockerFromImages(): string[] {
  return dockerInstructions()
    .filter((i) => /^FROM\s/i.test(i))
    .map(
      (i) =>
        i
          .split(/\s+/)
          .slice(1)
          .filter((w) => !w.startsWith('--'))[0]!,
    );
}

/** A Docker image reference with the default registry and namespace spelled out (as baseImage is). */
function fullyQualified(image: string): string {
  const first = image.split('/')[0]!;
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return image;
  return image.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`;
}

// ---- changelogs --------------------------------------------------------------------------------------

/** `## [x.y.z] - YYYY-MM-DD` entries of CHANGELOG.md, newest first ([Unreleased] skipped). */
function changelogEntries(): { version: string; date: string }[] {
  return [...text('CHANGELOG.md').matchAll(/^## \[(\d+\.\d+\.\d+[^\]]*)\] - (\d{4}-\d{2}-\d{2})\s*$/gm)].map((m) => ({
    version: m[1]!,
    date: m[2]!,
  }));
}

/** Rows of the docs page's changelog table: version, date. */
function docsChangelogRows(): { version: string; date: string }[] {
  const doc = text('docs/integrations/sources/hotjar.md');
  const section = doc.slice(doc.indexOf('## Changelog'));
  return [...section.matchAll(/^\|\s*(\d+\.\d+\.\d+)\s*\|\s*(\d{4}-\d{2}-\d{2})\s*\|/gm)].map((m) => ({
    version: m[1]!,
    date: m[2]!,
  }));
}

// ---- CAT config models -------------------------------------------------------------------------------

/*
 * Structural transcription of airbytehq/airbyte
 * airbyte-integrations/bases/connector-acceptance-test/connector_acceptance_test/config.py
 * (commit 71b99465289679d95ff58ce7c7302bad79f7eccf). Every model there is `extra = "forbid"` except
 * GenericTestConfig, which pydantic lets ignore unknown keys; here those are errors too (a misspelt key
 * there would silently drop its tests). Types are checked strictly (a bool must be a YAML boolean, not
 * "yes"), which pydantic's coercion would be looser about. Validators transcribed: ExpectedRecordsConfig
 * (path xor bypass_reason), GenericTestConfig (no bypass_reason with tests), OAuthTestConfig,
 * UnsupportedFileTypeConfig's extension, FileTypesConfig's skip_test rules.
 */
type FieldType =
  | 'str'
  | 'bool'
  | 'int>=0'
  | 'mapping'
  | { enum: readonly string[] }
  | { regex: RegExp }
  | { model: string }
  | { list: FieldType }
  | { map: FieldType };
interface Model {
  fields: Record<string, FieldType>;
  required?: readonly string[];
  check?: (v: Obj) => string | null;
}

const SEMVER = /^(0|(?:[1-9]\d*))(?:\.(0|(?:[1-9]\d*))(?:\.(0|(?:[1-9]\d*)))?(?:-([\w][\w.\-_]*))?)?/;
const DEPLOYMENT_MODE: FieldType = { regex: /^(cloud|oss)$/ };
const CLIENT_CONTAINER: FieldType = { model: 'ClientContainerConfig' };
const generic = (inner: string): Model => ({
  fields: { bypass_reason: 'str', tests: { list: { model: inner } } },
  check: (v) =>
    Array.isArray(v['tests']) && v['tests'].length > 0 && v['bypass_reason'] ? "can't set a bypass_reason if tests are set" : null,
});

export const CAT_MODELS: Record<string, Model> = {
  Config: {
    fields: {
      connector_image: 'str',
      acceptance_tests: { model: 'AcceptanceTestConfigurations' },
      base_path: 'str',
      test_strictness_level: { enum: ['high', 'low'] },
      custom_environment_variables: 'mapping',
    },
    required: ['connector_image', 'acceptance_tests'],
  },
  AcceptanceTestConfigurations: {
    fields: {
      spec: { model: 'Generic[SpecTestConfig]' },
      connection: { model: 'Generic[ConnectionTestConfig]' },
      discovery: { model: 'Generic[DiscoveryTestConfig]' },
      basic_read: { model: 'Generic[BasicReadTestConfig]' },
      full_refresh: { model: 'Generic[FullRefreshConfig]' },
      incremental: { model: 'Generic[IncrementalConfig]' },
      connector_attributes: { model: 'Generic[ConnectorAttributesConfig]' },
      connector_documentation: { model: 'Generic[TestConnectorDocumentationConfig]' },
      client_container_config: CLIENT_CONTAINER,
    },
  },
  'Generic[SpecTestConfig]': generic('SpecTestConfig'),
  'Generic[ConnectionTestConfig]': generic('ConnectionTestConfig'),
  'Generic[DiscoveryTestConfig]': generic('DiscoveryTestConfig'),
  'Generic[BasicReadTestConfig]': generic('BasicReadTestConfig'),
  'Generic[FullRefreshConfig]': generic('FullRefreshConfig'),
  'Generic[IncrementalConfig]': generic('IncrementalConfig'),
  'Generic[ConnectorAttributesConfig]': generic('ConnectorAttributesConfig'),
  'Generic[TestConnectorDocumentationConfig]': generic('TestConnectorDocumentationConfig'),
  BackwardCompatibilityTestsConfig: {
    fields: { previous_connector_version: { regex: SEMVER }, disable_for_version: { regex: SEMVER } },
  },
  OAuthTestConfig: {
    fields: { oauth: 'bool', bypass_reason: 'str' },
    check: (v) => (v['oauth'] === false && !v['bypass_reason'] ? 'Please provide a bypass reason for Auth default method' : null),
  },
  SpecTestConfig: {
    fields: {
      spec_path: 'str',
      config_path: 'str',
      timeout_seconds: 'int>=0',
      deployment_mode: DEPLOYMENT_MODE,
      backward_compatibility_tests_config: { model: 'BackwardCompatibilityTestsConfig' },
      auth_default_method: { model: 'OAuthTestConfig' },
    },
  },
  ConnectionTestConfig: {
    fields: {
      config_path: 'str',
      status: { enum: ['succeed', 'failed', 'exception'] },
      timeout_seconds: 'int>=0',
      deployment_mode: DEPLOYMENT_MODE,
    },
  },
  DiscoveryTestConfig: {
    fields: {
      config_path: 'str',
      timeout_seconds: 'int>=0',
      deployment_mode: DEPLOYMENT_MODE,
      backward_compatibility_tests_config: { model: 'BackwardCompatibilityTestsConfig' },
      validate_primary_keys_data_type: 'bool',
    },
  },
  ExpectedRecordsConfig: {
    fields: { bypass_reason: 'str', path: 'str', exact_order: 'bool' },
    check: (v) => {
      if (v['path'] && v['bypass_reason']) return "You can't set a bypass_reason if a path is set";
      if (!v['path'] && !v['bypass_reason']) return 'A path or a bypass_reason must be set';
      return null;
    },
  },
  EmptyStreamConfiguration: { fields: { name: 'str', bypass_reason: 'str' }, required: ['name'] },
  IgnoredFieldsConfiguration: { fields: { name: 'str', bypass_reason: 'str' }, required: ['name'] },
  NoPrimaryKeyConfiguration: { fields: { name: 'str', bypass_reason: 'str' }, required: ['name'] },
  AllowedHostsConfiguration: { fields: { bypass_reason: 'str' } },
  SuggestedStreamsConfiguration: { fields: { bypass_reason: 'str' } },
  UnsupportedFileTypeConfig: {
    fields: { extension: 'str', bypass_reason: 'str' },
    required: ['extension'],
    check: (v) =>
      typeof v['extension'] === 'string' && (!v['extension'].startsWith('.') || v['extension'].length < 2)
        ? "Please provide a valid file extension (e.g. '.csv')."
        : null,
  },
  FileTypesConfig: {
    fields: { bypass_reason: 'str', unsupported_types: { list: { model: 'UnsupportedFileTypeConfig' } }, skip_test: 'bool' },
    check: (v) => {
      if (v['skip_test'] && Array.isArray(v['unsupported_types']) && v['unsupported_types'].length > 0) {
        return "You can't set 'unsupported_types' if the test is skipped.";
      }
      if (!v['skip_test'] && v['bypass_reason'] != null) return "You can't set 'bypass_reason' if the test is not skipped.";
      return null;
    },
  },
  ClientContainerConfig: {
    fields: {
      secrets_path: 'str',
      client_container_dockerfile_path: 'str',
      setup_command: { list: 'str' },
      teardown_command: { list: 'str' },
      between_syncs_command: { list: 'str' },
      final_teardown_command: { list: 'str' },
    },
  },
  BasicReadTestConfig: {
    fields: {
      config_path: 'str',
      deployment_mode: DEPLOYMENT_MODE,
      configured_catalog_path: 'str',
      empty_streams: { list: { model: 'EmptyStreamConfiguration' } },
      expect_records: { model: 'ExpectedRecordsConfig' },
      validate_schema: 'bool',
      validate_stream_statuses: 'bool',
      validate_state_messages: 'bool',
      validate_primary_keys_data_type: 'bool',
      fail_on_extra_columns: 'bool',
      validate_data_points: 'bool',
      expect_trace_message_on_failure: 'bool',
      timeout_seconds: 'int>=0',
      file_types: { model: 'FileTypesConfig' },
      client_container_config: CLIENT_CONTAINER,
    },
  },
  FullRefreshConfig: {
    fields: {
      config_path: 'str',
      configured_catalog_path: 'str',
      timeout_seconds: 'int>=0',
      deployment_mode: DEPLOYMENT_MODE,
      ignored_fields: { map: { list: { model: 'IgnoredFieldsConfiguration' } } },
      client_container_config: CLIENT_CONTAINER,
    },
  },
  FutureStateCursorFormatStreamConfiguration: { fields: { name: 'str', format: 'str' }, required: ['name'] },
  FutureStateCursorFormatConfiguration: {
    fields: { format: 'str', streams: { list: { model: 'FutureStateCursorFormatStreamConfiguration' } } },
  },
  FutureStateConfig: {
    fields: {
      future_state_path: 'str',
      missing_streams: { list: { model: 'EmptyStreamConfiguration' } },
      bypass_reason: 'str',
      cursor_format: { model: 'FutureStateCursorFormatConfiguration' },
    },
  },
  IncrementalConfig: {
    fields: {
      config_path: 'str',
      configured_catalog_path: 'str',
      future_state: { model: 'FutureStateConfig' },
      timeout_seconds: 'int>=0',
      deployment_mode: DEPLOYMENT_MODE,
      skip_comprehensive_incremental_tests: 'bool',
      client_container_config: CLIENT_CONTAINER,
    },
  },
  ConnectorAttributesConfig: {
    fields: {
      timeout_seconds: 'int>=0',
      config_path: 'str',
      streams_without_primary_key: { list: { model: 'NoPrimaryKeyConfiguration' } },
      allowed_hosts: { model: 'AllowedHostsConfiguration' },
      suggested_streams: { model: 'SuggestedStreamsConfiguration' },
    },
  },
  TestConnectorDocumentationConfig: { fields: { timeout_seconds: 'int>=0', config_path: 'str' } },
};

/** Problems of `value` against a CAT model (empty when it conforms). */
export function checkCat(value: unknown, type: FieldType, at: string): string[] {
  if (value === null || value === undefined) return []; // every non-required field is Optional or has a default
  if (type === 'str') return typeof value === 'string' ? [] : [`${at}: want a string, got ${JSON.stringify(value)}`];
  if (type === 'bool') return typeof value === 'boolean' ? [] : [`${at}: want a boolean, got ${JSON.stringify(value)}`];
  if (type === 'int>=0') {
    return Number.isInteger(value) && (value as number) >= 0 ? [] : [`${at}: want an integer >= 0, got ${JSON.stringify(value)}`];
  }
  if (type === 'mapping') return isObj(value) ? [] : [`${at}: want a mapping`];
  if ('enum' in type) return type.enum.includes(value as string) ? [] : [`${at}: ${JSON.stringify(value)} not in ${type.enum.join('|')}`];
  if ('regex' in type) {
    return typeof value === 'string' && type.regex.test(value) ? [] : [`${at}: ${JSON.stringify(value)} does not match ${type.regex}`];
  }
  if ('list' in type) {
    if (!Array.isArray(value)) return [`${at}: want a list`];
    return value.flatMap((item, i) => checkCat(item, type.list, `${at}[${i}]`));
  }
  if ('map' in type) {
    if (!isObj(value)) return [`${at}: want a mapping`];
    return Object.entries(value).flatMap(([k, v]) => checkCat(v, type.map, `${at}.${k}`));
  }
  const model = CAT_MODELS[type.model];
  if (!model) return [`${at}: unknown model ${type.model}`];
  if (!isObj(value)) return [`${at}: want a ${type.model} mapping`];
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (!(key in model.fields)) problems.push(`${at}: unknown key ${key} for ${type.model}`);
  }
  for (const key of model.required ?? []) if (value[key] == null) problems.push(`${at}: ${type.model} requires ${key}`);
  for (const [key, fieldType] of Object.entries(model.fields)) problems.push(...checkCat(value[key], fieldType, `${at}.${key}`));
  const custom = model.check?.(value);
  if (custom) problems.push(`${at}: ${custom}`);
  return problems;
}
const checkCatConfig = (config: unknown): string[] => checkCat(config, { model: 'Config' }, 'config');

/** Every file path the CAT config names (config, spec, catalog, expected records, state). */
function catPaths(config: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, k);
    else if (typeof v === 'string' && (key.endsWith('_path') || key === 'path')) out.push(v);
  };
  walk(config, '');
  return out;
}

// ---- XML well-formedness (for icon.svg) -------------------------------------------------------------

/** Null when `xml` is well-formed as far as element nesting and attribute quoting go, else the problem. */
function xmlProblem(xml: string): string | null {
  const body = xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<\?xml[\s\S]*?\?>/, '')
    .trim();
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    if (/[<>]/.test(between)) return `stray markup near: ${between.slice(0, 40)}`;
    if (stack.length === 0 && between.trim()) return 'text outside the root element';
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      if (stack.pop() !== name) return `</${name}> does not close the open element`;
      continue;
    }
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(name!);
  }
  if (/[<>]/.test(body.slice(last))) return 'unparsed markup at the end';
  if (stack.length) return `unclosed <${stack.join('>, <')}>`;
  if (roots !== 1) return `${roots} root elements`;
  return null;
}

// ======================================================================================================

describe('metadata.yaml', () => {
  const validate = compile('test/fixtures/airbyte-metadata.schema.json');

  it('validates against the vendored Airbyte metadata schema (ConnectorMetadataDefinitionV0)', () => {
    expect(validate(metadataDoc), errorsOf(validate)).toBe(true);
  });

  it('the vendored schema rejects broken metadata (so the check above can fail)', () => {
    const broken: [string, (d: Obj) => void][] = [
      ['unknown key', (d) => ((d['data'] as Obj)['languageTag'] = 'typescript')],
      ['bad suite', (d) => ((d['data'] as Obj)['connectorTestSuitesOptions'] = [{ suite: 'vitest' }])],
      ['bad date', (d) => ((d['data'] as Obj)['releaseDate'] = '28/11/2026')],
      ['string seconds', (d) => ((d['data'] as Obj)['maxSecondsBetweenMessages'] = '3600')],
      ['bad doc type', (d) => ((d['data'] as Obj)['externalDocumentationUrls'] = [{ title: 't', url: 'https://x.test', type: 'blog' }])],
      ['missing required', (d) => delete (d['data'] as Obj)['githubIssueLabel']],
      ['bad build option', (d) => ((d['data'] as Obj)['connectorBuildOptions'] = { baseImage: 'x', dockerfile: 'Dockerfile' })],
    ];
    for (const [what, mutate] of broken) {
      const d = clone(metadataDoc);
      mutate(d);
      expect(validate(d), what).toBe(false);
    }
  });

  it('dockerImageTag equals package.json version and the Dockerfile label io.airbyte.version', () => {
    expect(metadata['dockerImageTag']).toBe(pkg.version);
    expect(dockerLabels()['io.airbyte.version']).toBe(pkg.version);
  });

  it('dockerRepository equals the Dockerfile label io.airbyte.name', () => {
    expect(dockerLabels()['io.airbyte.name']).toBe(metadata['dockerRepository']);
  });

  it("connectorBuildOptions.baseImage names the Dockerfile's FROM image (every stage)", () => {
    const baseImage = obj(metadata['connectorBuildOptions'], 'connectorBuildOptions')['baseImage'];
    const froms = dockerFromImages();
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(baseImage).toBe(fullyQualified(from));
    expect(baseImage).toBe('docker.io/library/node:24-bookworm-slim');
  });

  it('declares unit and acceptance test suites, maxSecondsBetweenMessages and a protocol version', () => {
    const suites = (metadata['connectorTestSuitesOptions'] as { suite: string }[]).map((s) => s.suite);
    expect(suites).toEqual(['unitTests', 'acceptanceTests']);
    expect(metadata['maxSecondsBetweenMessages']).toBe(3600);
    expect(metadata['protocolVersion']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('protocolVersion equals the vendored protocol schema version and the SPEC fixture protocol_version', () => {
    const comment = json<{ $comment: string }>('test/fixtures/airbyte_protocol.schema.json').$comment;
    const schemaVersion = /schema "version: (\d+\.\d+\.\d+)"/.exec(comment)?.[1];
    expect(schemaVersion).toBeDefined();
    expect(metadata['protocolVersion']).toBe(schemaVersion);
    expect(specFixture['protocol_version']).toBe(metadata['protocolVersion']);
  });

  it('has exactly one language tag, one the Airbyte tooling knows', () => {
    const languages = (metadata['tags'] as string[]).filter((t) => t.startsWith('language:'));
    expect(languages).toHaveLength(1);
    // connector_ops / connectors_qa: python, java, low-code, manifest-only; airbyte_cdk adds unknown.
    expect(['python', 'java', 'low-code', 'manifest-only', 'unknown']).toContain(languages[0]!.slice('language:'.length));
  });

  it('documentationUrl maps to docs/integrations/sources/hotjar.md, which exists (connector_ops rule)', () => {
    const url = metadata['documentationUrl'] as string;
    expect(url.startsWith('https://docs.airbyte.com/')).toBe(true);
    const docPath = `docs/${url.replace('https://docs.airbyte.com', '').replace(/^\/+|\/+$/g, '')}.md`;
    expect(docPath).toBe('docs/integrations/sources/hotjar.md');
    expect(existsSync(join(ROOT, docPath))).toBe(true);
  });

  it('releaseDate is the date of the first release in CHANGELOG.md', () => {
    const entries = changelogEntries();
    expect(entries.length).toBeGreaterThan(0);
    expect(metadata['releaseDate']).toBe(entries[entries.length - 1]!.date);
  });

  it('points at icon.svg, a small well-formed SVG', () => {
    expect(metadata['icon']).toBe('icon.svg');
    const svg = text(metadata['icon'] as string);
    expect(svg).toContain('<svg');
    expect(svg).toMatch(/<svg[^>]*\sxmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toMatch(/<svg[^>]*\sviewBox="[\d.\s-]+"/);
    expect(xmlProblem(svg)).toBeNull();
    expect(Buffer.byteLength(svg)).toBeLessThan(10_000);
    // the checker itself catches broken markup
    expect(xmlProblem('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>')).not.toBeNull();
    expect(xmlProblem('<svg><rect x="1></svg>')).not.toBeNull();
  });
});

describe('acceptance-test-config.yml', () => {
  it('has the structure the CAT config models require', () => {
    expect(checkCatConfig(cat)).toEqual([]);
  });

  it('the structural check rejects broken configs (so the check above can fail)', () => {
    const broken: [string, (c: Obj) => void][] = [
      ['string exact_order', (c) => (at(c, 'acceptance_tests', 'basic_read', 'tests', 0, 'expect_records')['exact_order'] = 'yes')],
      ['unknown test key', (c) => (at(c, 'acceptance_tests', 'connection', 'tests', 0)['validate_stream_statuses'] = true)],
      ['bad status', (c) => (at(c, 'acceptance_tests', 'connection', 'tests', 0)['status'] = 'ok')],
      ['legacy tests key', (c) => (c['tests'] = {})],
      ['no connector_image', (c) => delete c['connector_image']],
      ['expect_records without path', (c) => delete at(c, 'acceptance_tests', 'basic_read', 'tests', 0, 'expect_records')['path']],
      ['empty_streams as names', (c) => (at(c, 'acceptance_tests', 'basic_read', 'tests', 0)['empty_streams'] = ['surveys'])],
      ['bypass with tests', (c) => (at(c, 'acceptance_tests', 'spec')['bypass_reason'] = 'no')],
    ];
    for (const [what, mutate] of broken) {
      const c = clone(cat);
      mutate(c);
      expect(checkCatConfig(c), what).not.toEqual([]);
    }
  });

  it('uses the settings the task asks for', () => {
    expect(at(cat, 'acceptance_tests', 'spec', 'tests', 0)).toMatchObject({
      spec_path: 'integration_tests/spec.json',
      config_path: 'secrets/config.json',
    });
    const read = at(cat, 'acceptance_tests', 'basic_read', 'tests', 0);
    expect(at(read, 'expect_records')['exact_order']).toBe(true);
    expect(read['validate_stream_statuses']).toBe(true);
    expect(read).not.toHaveProperty('fail_on_extra_columns'); // left at its default, true
  });

  it('every file it names exists (secrets/ files are git-ignored and copied from integration_tests/)', () => {
    const paths = catPaths(cat);
    expect(paths.length).toBeGreaterThanOrEqual(8);
    for (const p of paths) {
      if (p.startsWith('secrets/')) {
        expect(text('.gitignore').split('\n')).toContain('secrets/');
        expect(text('acceptance-test-config.yml')).toContain(`cp integration_tests/sample_config.json ${p}`);
        expect(existsSync(join(ROOT, 'integration_tests/sample_config.json'))).toBe(true);
      } else {
        expect(existsSync(join(ROOT, p)), p).toBe(true);
      }
    }
  });
});

describe('integration_tests/', () => {
  it("spec.json is the SPEC message's spec: exactly its fields, connectionSpecification = spec.json", () => {
    expect(Object.keys(specFixture)).toEqual(['documentationUrl', 'connectionSpecification', 'supportsIncremental', 'protocol_version']);
    expect(specFixture['connectionSpecification']).toEqual(spec);
    expect(specFixture['documentationUrl']).toBe(metadata['documentationUrl']);
    expect(specFixture['supportsIncremental']).toBe(true);
    const validate = protocolValidator('AirbyteMessage');
    expect(validate({ type: 'SPEC', spec: specFixture }), errorsOf(validate)).toBe(true);
    expect(validate({ type: 'SPEC', spec: { ...specFixture, protocol_version: 2 } })).toBe(false);
  });

  it("every example in spec.json passes spec.json itself, formats checked strictly (as a platform's validator would)", () => {
    const ajv = new Ajv({ allErrors: true, strict: false }); // spec.json carries Airbyte's UI keywords (order, group, airbyte_secret…)
    addFormats(ajv);
    const validate = ajv.compile(spec);
    const base = { site_id: '1234567', credentials: { auth_type: 'password', email: 'a@example.com', password: 'x' } };
    let examples = 0;
    for (const [name, property] of Object.entries(spec.properties)) {
      for (const example of (property['examples'] as unknown[] | undefined) ?? []) {
        examples++;
        expect(validate({ ...base, [name]: example }), `${name} = ${JSON.stringify(example)}: ${errorsOf(validate)}`).toBe(true);
      }
    }
    expect(examples).toBeGreaterThanOrEqual(4);
    // The date forms start_date documents (a bare date, a zone-less date-time) pass too.
    for (const start of ['2024-01-01', '2024-01-01T12:00:00', '2024-01-01 12:00', '2024-01-31T12:00:00Z']) {
      expect(validate({ ...base, start_date: start }), `${start}: ${errorsOf(validate)}`).toBe(true);
    }
  });

  it('the configured catalogs carry the discovered survey_responses schema and are valid protocol catalogs', () => {
    const schema = json('catalog/survey_responses.json');
    const catalogs = readdirSync(join(ROOT, 'integration_tests')).filter((f) => /^configured_catalog.*\.json$/.test(f));
    const named = catPaths(cat).filter((p) => /configured_catalog/.test(p));
    expect(catalogs.length).toBeGreaterThanOrEqual(2);
    for (const p of named) expect(catalogs).toContain(p.replace('integration_tests/', ''));
    const validate = protocolValidator('ConfiguredAirbyteCatalog');
    for (const file of catalogs) {
      const catalog = json<{ streams: { stream: { name: string; json_schema: unknown } }[] }>(`integration_tests/${file}`);
      expect(validate(catalog), `${file}: ${errorsOf(validate)}`).toBe(true);
      expect(catalog.streams.length).toBeGreaterThan(0);
      for (const s of catalog.streams) {
        expect(s.stream.name).toBe('survey_responses');
        // What discover declares against the stand-in: the static schema's columns, then every question column.
        const declared = s.stream.json_schema as { properties: Record<string, unknown>; additionalProperties: boolean };
        expect(declared.additionalProperties, file).toBe(false);
        for (const key of Object.keys((schema as { properties: Record<string, unknown> }).properties))
          expect(declared.properties, file).toHaveProperty([key]);
        expect(Object.keys(declared.properties).length, file).toBeGreaterThan(
          Object.keys((schema as { properties: Record<string, unknown> }).properties).length,
        );
      }
    }
  });
});

describe('docs, changelog and package version', () => {
  it("CHANGELOG.md's newest version is package.json's", () => {
    const entries = changelogEntries();
    expect(entries[0]?.version).toBe(pkg.version);
    expect(entries[0]?.date).toBe('2026-11-28');
  });

  it("the docs page's changelog table starts with the same version and date", () => {
    const rows = docsChangelogRows();
    expect(rows[0]).toEqual(changelogEntries()[0]);
  });

  it('the docs page has the sections of an Airbyte source page', () => {
    const doc = text('docs/integrations/sources/hotjar.md');
    const headings = [...doc.matchAll(/^#{1,3} (.+)$/gm)].map((m) => m[1]!);
    for (const h of [
      'Hotjar',
      'Prerequisites',
      'Setup guide',
      'Supported sync modes',
      'Supported streams',
      'Limitations & Troubleshooting',
      'Changelog',
    ]) {
      expect(headings, h).toContain(h);
    }
    for (const stream of ['survey_responses', 'survey_answers', 'surveys']) expect(doc).toContain(`| \`${stream}\` |`);
  });
});

describe('Meltano: meltano/tap-hotjar.yml and --about', () => {
  const validate = compile('test/fixtures/meltano-hub-extractor.schema.json', { allowUnionTypes: true });
  const byName = new Map(meltanoSettings.map((s) => [s.name, s]));

  it('validates against the vendored Meltano Hub extractor schema', () => {
    expect(validate(meltano), errorsOf(validate)).toBe(true);
    const bad = clone(meltano);
    (bad['settings'] as MeltanoSetting[])[0]!.kind = 'secret';
    expect(validate(bad)).toBe(false);
    const noQuality = clone(meltano);
    delete noQuality['quality'];
    expect(validate(noQuality)).toBe(false);
  });

  it('is the tap-hotjar extractor run from PATH, with the four capabilities', () => {
    expect(meltano).toMatchObject({ name: 'tap-hotjar', namespace: 'tap_hotjar', executable: 'tap-hotjar' });
    expect(meltano).not.toHaveProperty('pip_url');
    expect([...(meltano['capabilities'] as string[])].sort()).toEqual(['about', 'catalog', 'discover', 'state']);
  });

  it('settings cover every spec.json property, with matching kinds, and mark secrets sensitive', () => {
    const kindFor: Record<string, string[]> = {
      integer: ['integer'],
      number: ['decimal'],
      array: ['array'],
      boolean: ['boolean'],
      object: ['object'],
    };
    for (const [name, prop] of Object.entries(spec.properties)) {
      const setting = byName.get(name);
      expect(setting, name).toBeDefined();
      const allowed = prop['airbyte_secret']
        ? ['password']
        : (kindFor[prop['type'] as string] ?? ['string', 'email', 'date_iso8601', 'options']);
      expect(allowed, name).toContain(setting!.kind);
      expect(setting!.sensitive === true, name).toBe(prop['airbyte_secret'] === true);
      if ('default' in prop) expect(setting!.value, name).toEqual(prop['default']);
    }
  });

  it('declares the coming credentials object, api_base_url and max_concurrent_surveys', () => {
    expect(
      byName
        .get('credentials.auth_type')
        ?.options?.map((o) => o.value)
        .sort(),
    ).toEqual(['api_key', 'password']);
    for (const name of ['credentials.client_id', 'credentials.email']) expect(byName.get(name)?.sensitive ?? false, name).toBe(false);
    for (const name of ['credentials.client_secret', 'credentials.password']) {
      expect(byName.get(name)).toMatchObject({ kind: 'password', sensitive: true });
    }
    expect(byName.get('api_base_url')?.kind).toBe('string');
    expect(byName.get('max_concurrent_surveys')?.kind).toBe('integer');
  });

  it('every password-kind setting is sensitive, and settings_group_validation names declared settings', () => {
    for (const s of meltanoSettings) if (s.kind === 'password') expect(s.sensitive, s.name).toBe(true);
    const groups = meltano['settings_group_validation'] as string[][];
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const group of groups) for (const name of group) expect(byName.has(name), name).toBe(true);
    expect(groups).toContainEqual(expect.arrayContaining(spec.required));
  });

  it('ABOUT agrees with spec.json and the plugin definition', () => {
    expect(ABOUT.name).toBe(meltano['name']);
    expect([...ABOUT.capabilities].sort()).toEqual([...(meltano['capabilities'] as string[])].sort());
    const top = ABOUT.settings.filter((s) => !s.name.includes('.'));
    expect(top.map((s) => s.name)).toEqual(Object.keys(spec.properties));
    // credentials' fields, as the plugin definition lists them, secrets marked as there and in spec.json.
    const nested = ABOUT.settings.filter((s) => s.name.includes('.'));
    expect(nested.map((s) => s.name)).toEqual(meltanoSettings.map((s) => s.name).filter((n) => n.startsWith('credentials.')));
    const branches = (spec.properties['credentials']!['oneOf'] as { properties: Record<string, Obj> }[]).map((b) => b.properties);
    for (const s of nested) {
      expect(s.sensitive, s.name).toBe(byName.get(s.name)?.sensitive === true);
      expect(byName.get(s.name)?.kind, s.name).toBe(s.kind);
      const field = s.name.slice('credentials.'.length);
      if (field !== 'auth_type') expect(s.sensitive, s.name).toBe(branches.some((b) => b[field]?.['airbyte_secret'] === true));
    }
    for (const s of top) {
      const prop = spec.properties[s.name]!;
      expect(s.sensitive, s.name).toBe(prop['airbyte_secret'] === true);
      expect(s.required === true, s.name).toBe(spec.required.includes(s.name));
      expect(s.description, s.name).toBe(prop['description']);
      expect(s.default, s.name).toEqual(prop['default']);
      expect(byName.get(s.name)?.kind, s.name).toBe(s.kind);
    }
  });

  it('formatAbout json parses and lists the four capabilities, the version and the settings schema', () => {
    const about = JSON.parse(formatAbout(ABOUT, 'json', pkg.version)) as {
      name: string;
      version: string;
      capabilities: string[];
      settings: { type: string; properties: Record<string, Obj>; required: string[] };
    };
    expect(about.name).toBe('tap-hotjar');
    expect(about.version).toBe(pkg.version);
    expect([...about.capabilities].sort()).toEqual(['about', 'catalog', 'discover', 'state']);
    expect(Object.keys(about).sort()).toEqual([
      'capabilities',
      'description',
      'name',
      'sdk_version',
      'settings',
      'supported_python_versions',
      'version',
    ]);
    expect(Object.keys(about.settings.properties)).toEqual(Object.keys(spec.properties));
    expect(about.settings.required).toEqual(spec.required);
    expect(about.settings.properties['password']).toMatchObject({ type: 'string', secret: true, writeOnly: true });
    const credentials = about.settings.properties['credentials'] as { type: string; properties: Record<string, Obj> };
    expect(credentials.type).toBe('object');
    expect(Object.keys(credentials.properties)).toEqual(['auth_type', 'client_id', 'client_secret', 'email', 'password']);
    for (const secret of ['client_secret', 'password'])
      expect(credentials.properties[secret]).toMatchObject({ secret: true, writeOnly: true });
    expect(credentials.properties['auth_type']).toMatchObject({ type: 'string', enum: ['api_key', 'password'] });
    expect(about.settings.properties['survey_ids']).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(about.settings.properties['max_attempts']).toMatchObject({ type: 'integer', default: 5 });
  });

  it('formatAbout text and markdown follow the SDK layout', () => {
    const textOut = formatAbout(ABOUT, 'text', '9.9.9');
    expect(textOut.split('\n').slice(0, 5)).toEqual([
      'Name: tap-hotjar',
      `Description: ${ABOUT.description}`,
      'Version: 9.9.9',
      'SDK Version: None',
      'Capabilities:',
    ]);
    expect(textOut).toContain('  - Name: survey_ids\n    Type: array\n');
    expect(textOut).not.toContain('Environment Variable');
    expect(formatAbout({ ...ABOUT, envVarPrefix: 'TAP_HOTJAR_' }, 'text', '1')).toContain('    Environment Variable: TAP_HOTJAR_SITE_ID\n');
    const md = formatAbout(ABOUT, 'markdown', pkg.version);
    expect(md.startsWith('# `tap-hotjar`\n\n')).toBe(true);
    expect(md).toContain('## Capabilities\n\n- `catalog`\n- `discover`\n- `state`\n- `about`\n\n## Settings\n\n');
    expect(md).toContain('| max_attempts | False | 5 | ');
    expect(md).toContain('| site_id | True | None | ');
    expect(md).toContain('| email | False | None | '); // optional since credentials (issue 10)
    expect(md.endsWith('`tap-hotjar --about`\n')).toBe(true);
    expect(formatAbout({ ...ABOUT, description: 'é' }, 'json', '1')).toContain('"description": "\\u00e9"');
  });
});

describe('the config validator compiled ahead of time (src/core/config-validator.generated.ts)', () => {
  it('is what devtools/config-validator.ts generates from spec.json now (run `npm run generate` after changing spec.json)', async () => {
    const { generate, OUTPUT } = await import('../devtools/config-validator.js');
    expect(text(OUTPUT)).toBe(generate());
  });

  it('accepts, rejects, reports and fills defaults exactly as ajv compiling spec.json at run time would', async () => {
    const { validate } = (await import('../src/core/config-validator.generated.js')) as unknown as {
      validate: ValidateFunction;
    };
    const live = new Ajv({ allErrors: true, useDefaults: true, strict: false, validateFormats: false }).compile(spec);
    const configs: unknown[] = [
      { site_id: '1', email: 'a@b.c', password: 'p' },
      { site_id: '1', credentials: { auth_type: 'api_key', client_id: 'x', client_secret: 'y' }, survey_ids: ['2', '3'] },
      { site_id: 1, survey_ids: ['x/../y'], max_attempts: 0, start_date: 'soon' },
      { credentials: { auth_type: 'password', email: 'a@b.c' }, unknown_key: true },
      { site_id: '1', email: 'a@b.c', password: 'p', max_concurrent_surveys: 99, max_requests_per_second: 0, heartbeat_seconds: 'x' },
      [],
      'text',
    ];
    for (const config of configs) {
      const a = clone(config);
      const b = clone(config);
      expect(validate(a)).toBe(live(b));
      expect(validate.errors ?? null).toEqual(live.errors ?? null);
      expect(a).toEqual(b); // the same defaults filled in
    }
  });
});
