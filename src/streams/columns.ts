/**
 * What an export's header means, as pure functions: the record key of every column, which columns are
 * answers, and which `Tags for: …` column holds each answer's tags.
 *
 * - Fixed columns (Number, User, Date Submitted, …) are Hotjar's own; every other column is a user
 *   attribute or a question. The CSV cannot tell those two apart.
 * - A column named like a field the connector adds (site_id, survey_id) is keyed "<name> (export)".
 * - A header text that appears twice (two questions with the same text) keeps both: the second is
 *   keyed "<text> (2)", the third "<text> (3)", so no answer is lost.
 * - `Tags for: <q>` belongs to the nearest column before it whose header is <q> (Hotjar writes each
 *   question's tags right after it); one with no such column is an answer column of its own.
 * - API-key mode's rows (a `response_id` column and no `Number`: the "api" flavour) have the same
 *   columns where the meaning is the same, plus `response_id`, `is_complete` and `recording_url` (fixed),
 *   and `Comment for: <q>` and `Sentiment for: <q>` after each question, paired like `Tags for:`.
 *   Only that flavour pairs them: in a CSV export they are just columns.
 */
export const FIXED_COLUMNS: readonly string[] = [
  'Number',
  'User',
  'Date Submitted',
  'Country',
  'Source URL',
  'Device',
  'Browser',
  'OS',
  'Hotjar User ID',
];
/** Columns only API-key mode has, part of its fixed columns. */
export const API_ONLY_COLUMNS: readonly string[] = ['response_id', 'is_complete', 'recording_url'];
/** API-key mode's fixed columns: password mode's without `Number` (the API has none), then its own. */
export const API_FIXED_COLUMNS: readonly string[] = [...FIXED_COLUMNS.filter((c) => c !== 'Number'), ...API_ONLY_COLUMNS];
export const ADDED_FIELDS: readonly string[] = ['site_id', 'survey_id'];
export const TAGS_PREFIX = 'Tags for: ';
export const COMMENT_PREFIX = 'Comment for: ';
export const SENTIMENT_PREFIX = 'Sentiment for: ';

export type Flavour = 'export' | 'api';

export interface AnswerColumn {
  index: number;
  /** The record key of the column (its question text, or a user attribute's name). */
  question: string;
  /** Index of its `Tags for:` column, or -1. */
  tagsIndex: number;
  /** API flavour only: index of its `Comment for:` / `Sentiment for:` column, or -1. */
  commentIndex?: number;
  sentimentIndex?: number;
}

export interface HeaderLayout {
  /** Record key of each column, in header order (unique). */
  keys: string[];
  /** Header texts that appeared more than once. */
  duplicates: string[];
  /** "api" for API-key mode's rows (response_id, no Number), else "export". */
  flavour: Flavour;
  /** The answer columns, in header order. */
  answers: AnswerColumn[];
}

/** Which rows a header heads: API-key mode's have a response_id column and no Number. */
export function flavourOf(header: readonly string[]): Flavour {
  return !header.includes('Number') && header.includes('response_id') ? 'api' : 'export';
}

export function layout(header: readonly string[]): HeaderLayout {
  const taken = new Set<string>();
  const duplicates = new Set<string>();
  const keys = header.map((name) => {
    const base = ADDED_FIELDS.includes(name) ? `${name} (export)` : name;
    let key = base;
    // A repeat takes the first free "<text> (n)": a header may itself read like a renamed repeat.
    for (let n = 2; taken.has(key); n++) {
      duplicates.add(name);
      key = `${base} (${n})`;
    }
    taken.add(key);
    return key;
  });
  const flavour = flavourOf(header);
  const fixed = new Set(flavour === 'api' ? API_FIXED_COLUMNS : FIXED_COLUMNS);
  const paired = new Set<number>();
  const pair = (prefix: string): Map<number, number> => {
    const of = new Map<number, number>();
    header.forEach((name, i) => {
      if (!name.startsWith(prefix)) return;
      const question = name.slice(prefix.length);
      for (let j = i - 1; j >= 0; j--) {
        if (header[j] === question && !fixed.has(question) && !of.has(j)) {
          of.set(j, i);
          paired.add(i);
          break;
        }
      }
    });
    return of;
  };
  const tagsOf = pair(TAGS_PREFIX);
  const commentOf = flavour === 'api' ? pair(COMMENT_PREFIX) : new Map<number, number>();
  const sentimentOf = flavour === 'api' ? pair(SENTIMENT_PREFIX) : new Map<number, number>();
  const answers: AnswerColumn[] = [];
  header.forEach((name, i) => {
    if (fixed.has(name) || paired.has(i)) return;
    const answer: AnswerColumn = { index: i, question: keys[i] ?? name, tagsIndex: tagsOf.get(i) ?? -1 };
    if (flavour === 'api') {
      answer.commentIndex = commentOf.get(i) ?? -1;
      answer.sentimentIndex = sentimentOf.get(i) ?? -1;
    }
    answers.push(answer);
  });
  return { keys, duplicates: [...duplicates], flavour, answers };
}
