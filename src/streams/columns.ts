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
export const ADDED_FIELDS: readonly string[] = ['site_id', 'survey_id'];
const TAGS_PREFIX = 'Tags for: ';

export interface HeaderLayout {
  /** Record key of each column, in header order (unique). */
  keys: string[];
  /** Header texts that appeared more than once. */
  duplicates: string[];
  /** The answer columns: index into the row, the key (question), and the index of its tags column or -1. */
  answers: { index: number; question: string; tagsIndex: number }[];
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
  const fixed = new Set(FIXED_COLUMNS);
  const tagsOf = new Map<number, number>();
  const isTags = new Set<number>();
  header.forEach((name, i) => {
    if (!name.startsWith(TAGS_PREFIX)) return;
    const question = name.slice(TAGS_PREFIX.length);
    for (let j = i - 1; j >= 0; j--) {
      if (header[j] === question && !fixed.has(question) && !tagsOf.has(j)) {
        tagsOf.set(j, i);
        isTags.add(i);
        break;
      }
    }
  });
  const answers: HeaderLayout['answers'] = [];
  header.forEach((name, i) => {
    if (fixed.has(name) || isTags.has(i)) return;
    answers.push({ index: i, question: keys[i] ?? name, tagsIndex: tagsOf.get(i) ?? -1 });
  });
  return { keys, duplicates: [...duplicates], answers };
}
