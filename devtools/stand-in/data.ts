/**
 * Sample surveys for the Hotjar stand-in, in the shape of a real export (the team's sample export file): fixed
 * columns, user attributes, question columns whose headers hold newlines, commas, quotes and Unicode,
 * "Tags for:" columns, answers with line breaks, quotes, commas, empty cells. Deterministic.
 */
export const FIXED_COLUMNS = ['Number', 'User', 'Date Submitted', 'Country', 'Source URL', 'Device', 'Browser', 'OS', 'Hotjar User ID'];

export interface SurveyData {
  header: string[];
  /** Newest first, like Hotjar's export (Number descending). */
  rows: string[][];
  /** The survey's name (the survey lists give it; the export does not). */
  name?: string;
  /** Header columns that are user attributes, not questions (default: those in ATTRIBUTE_COLUMNS). */
  attributes?: string[];
}

/** The user-attribute columns of the sample data (Identify API); the official stand-in needs to know them. */
export const ATTRIBUTE_COLUMNS: readonly string[] = ['User ID'];

const COUNTRIES = ['United Kingdom', 'Germany', "Côte d'Ivoire", '日本', 'France'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const ANSWERS = [
  'Great, "really" great',
  'slow\ncheckout\nagain',
  'café naïve 日本語 🎉',
  'a,b,c',
  '  padded  ',
  "=cmd|' /C calc'!A0",
  '',
  'Line one\r\nline two with CRLF inside',
  'Ünïcödé — “quotes” and ‘apostrophes’',
];

/** md5-like deterministic hex id (not a real hash; only the shape matters). */
export function hexId(n: number, salt = 0): string {
  let h = '';
  let x = (n * 2654435761 + salt * 40503 + 12345) >>> 0;
  while (h.length < 32) {
    x = (x * 1103515245 + 12345) >>> 0;
    h += (x >>> 8).toString(16).padStart(6, '0');
  }
  return h.slice(0, 32);
}

/** `YYYY-MM-DD HH:MM:SS` for a UTC epoch in ms, as in the file. */
export function fileDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export interface ResponseSpec {
  number: number;
  date: string;
  answers: string[];
  attributes?: string[];
}

export function makeRow(spec: ResponseSpec, salt = 0): string[] {
  const id = hexId(spec.number, salt);
  return [
    String(spec.number),
    id.slice(0, 8),
    spec.date,
    COUNTRIES[spec.number % COUNTRIES.length]!,
    `https://shop.example.com/p/${spec.number % 7}?a=1&b=2,3`,
    DEVICES[spec.number % DEVICES.length]!,
    'Chrome 116.0.0',
    'Windows 10',
    id,
    ...(spec.attributes ?? []),
    ...spec.answers,
  ];
}

/** Checkout survey: one user attribute, two questions with tag columns (one header holds a newline). */
export const CHECKOUT_HEADER = [
  ...FIXED_COLUMNS,
  'User ID',
  'How would you rate your experience today?',
  'Tags for: How would you rate your experience today?',
  'What could we do better?\n(optional)',
  'Tags for: What could we do better?\n(optional)',
];

/** NPS survey: no user attribute, questions with commas, quotes and Unicode in their text. */
export const NPS_HEADER = [
  ...FIXED_COLUMNS,
  'How likely are you to recommend "Shop, Inc." to a friend? (0–10)',
  'Qu’est-ce qui vous a plu ? 🙂',
];

export function checkoutRow(number: number, date: string): string[] {
  return makeRow(
    {
      number,
      date,
      attributes: [number % 3 === 0 ? '' : `u-${number}`],
      answers: [
        ANSWERS[number % ANSWERS.length]!,
        number % 2 ? 'Positive, Pricing' : '',
        ANSWERS[(number + 3) % ANSWERS.length]!,
        number % 5 === 0 ? 'Negative' : '',
      ],
    },
    1,
  );
}

export function npsRow(number: number, date: string): string[] {
  return makeRow({ number, date, answers: [String(number % 11), ANSWERS[(number + 1) % ANSWERS.length]!] }, 2);
}

/** `count` responses newest first, Numbers with gaps, one every `stepSeconds` from `startMs`. */
export function generate(
  make: (n: number, date: string) => string[],
  count: number,
  startMs = Date.UTC(2023, 8, 27, 21, 0, 0),
  stepSeconds = 1234,
): string[][] {
  const rows: string[][] = [];
  let number = 0;
  for (let i = 0; i < count; i++) {
    number += i % 4 === 3 ? 2 : 1; // gaps, like deleted responses
    rows.push(make(number, fileDate(startMs + i * stepSeconds * 1000)));
  }
  return rows.reverse();
}

export const SAMPLE_SITE_ID = '1234567';
export const SAMPLE_SURVEYS = { checkout: '111', nps: '222' } as const;

export function sampleSurveys(): Map<string, SurveyData> {
  return new Map([
    [SAMPLE_SURVEYS.checkout, { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 12), name: 'Checkout feedback' }],
    [
      SAMPLE_SURVEYS.nps,
      { header: [...NPS_HEADER], rows: generate(npsRow, 9, Date.UTC(2023, 9, 1, 8, 0, 0), 3600), name: 'NPS «Shop, Inc.»' },
    ],
  ]);
}
