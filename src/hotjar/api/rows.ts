/**
 * API-key mode's rows: the official API's responses laid out in the columns of password mode's export,
 * so that both ways in fill the same table. Pure (no I/O): the survey's questions and the responses in,
 * a header and string rows out.
 *
 * Columns, in order (see README, "API-key mode"):
 * - User, Date Submitted, Country, Source URL, Device, Browser, OS, Hotjar User ID: the export's fixed
 *   columns without Number (the API has none). Date Submitted is created_time in UTC, to the second
 *   (`YYYY-MM-DDTHH:MM:SS`; fractions dropped); User is the first 8 characters of hotjar_user_id, as in
 *   the export; Source URL is response_origin_url; Country is what the API gives (a two-letter code).
 * - response_id, is_complete ("true"/"false"), recording_url: only the API has them. They come before the
 *   user attributes, so an attribute of the same name can never take their place.
 * - one column per user attribute, by name, as the export has them (first those of the first page); one
 *   named `Number` is "Number (2)", as is a question of that text (see unreserved()).
 * - per question of the survey, in its order: "<text>", "Tags for: <text>" (the answer's tags joined with
 *   ", "), "Comment for: <text>", "Sentiment for: <text>". Questions of type statement and thank-you take
 *   no answer and get no columns (unless an answer for one turns up).
 * - columns first seen on a later page (an attribute, an answer to a question the survey did not list)
 *   are added at the end; the pass then sends the longer header again (SurveyPass.isHeader).
 *
 * [unknown] how multi-select, NPS and rating answers are encoded: a string answer is kept as it is, any
 * other value as its JSON text; two answers to one question in one response are joined with ", ".
 * Values that are not text (numbers, booleans) become their text; a missing value is an empty cell.
 */
import { toCursor } from '../../core/dates.js';
import { isObject } from '../../core/json.js';

export const API_COLUMNS = {
  fixed: ['User', 'Date Submitted', 'Country', 'Source URL', 'Device', 'Browser', 'OS', 'Hotjar User ID'],
  own: ['response_id', 'is_complete', 'recording_url'],
} as const;
export const TAGS_FOR = 'Tags for: ';
export const COMMENT_FOR = 'Comment for: ';
export const SENTIMENT_FOR = 'Sentiment for: ';
/** Question types that take no answer ([clients]: the list is not closed). */
const NO_ANSWER_TYPES = new Set(['statement', 'thank-you']);

export interface ApiQuestion {
  id: string;
  text: string;
  type: string | undefined;
}

/** The questions of a survey object (with_questions=true), tolerant of missing fields. */
export function questionsOf(survey: unknown): ApiQuestion[] {
  const list = isObject(survey) && Array.isArray(survey['questions']) ? survey['questions'] : [];
  const out: ApiQuestion[] = [];
  for (const q of list) {
    if (!isObject(q)) continue;
    const id = idText(q['id']);
    if (id === '') continue;
    const text = typeof q['text'] === 'string' && q['text'] !== '' ? q['text'] : `Question ${id}`;
    out.push({ id, text, type: typeof q['type'] === 'string' ? q['type'] : undefined });
  }
  return out;
}

export class ResponseRows {
  private readonly columns: string[] = [...API_COLUMNS.fixed, ...API_COLUMNS.own];
  private readonly attributes = new Map<string, number>();
  /** Question id → index of its answer column (tags, comment, sentiment follow it). */
  private readonly answers = new Map<string, number>();
  private readonly questionAt = new Map<number, string>();
  private readonly byId: Map<string, ApiQuestion>;
  private started = false;

  constructor(private readonly questions: readonly ApiQuestion[]) {
    this.byId = new Map(questions.map((q) => [q.id, q]));
  }

  /** The header so far (a copy). */
  header(): string[] {
    return [...this.columns];
  }

  /** The question id of an answer column. */
  questionIdOf(column: number): string | undefined {
    return this.questionAt.get(column);
  }

  /**
   * Learns the columns a page needs. The first call lays out attributes, then the survey's questions;
   * later calls add what is new at the end. Returns true when a later call added columns.
   */
  learn(responses: readonly unknown[]): boolean {
    const before = this.columns.length;
    if (!this.started) {
      this.started = true;
      for (const r of responses) for (const name of attributeNames(r)) this.addAttribute(name);
      for (const q of this.questions) if (!NO_ANSWER_TYPES.has(q.type ?? '')) this.addQuestion(q.id);
      for (const r of responses) for (const id of answeredIds(r)) this.addQuestion(id);
      return false;
    }
    for (const r of responses) {
      for (const name of attributeNames(r)) this.addAttribute(name);
      for (const id of answeredIds(r)) this.addQuestion(id);
    }
    return this.columns.length > before;
  }

  /** One response as a row under the header (learn its page first). */
  row(response: unknown): string[] {
    const row = new Array<string>(this.columns.length).fill('');
    if (!isObject(response)) return row;
    const r = response;
    const userId = text(r['hotjar_user_id']);
    const created = r['created_time'];
    row[0] = userId.slice(0, 8);
    // A created_time that is not a date-time is kept as it is: the reader reports it, naming the response.
    row[1] = (typeof created === 'string' ? toCursor(created) : undefined) ?? text(created);
    row[2] = text(r['country']);
    row[3] = text(r['response_origin_url']);
    row[4] = text(r['device']);
    row[5] = text(r['browser']);
    row[6] = text(r['os']);
    row[7] = userId;
    row[8] = idText(r['id']);
    row[9] = text(r['is_complete']);
    row[10] = text(r['recording_url']);
    const attributes = Array.isArray(r['user_attributes']) ? r['user_attributes'] : [];
    for (const a of attributes) {
      if (!isObject(a)) continue;
      const i = this.attributes.get(attributeName(a['name']));
      if (i !== undefined) row[i] = text(a['value']);
    }
    const answers = Array.isArray(r['answers']) ? r['answers'] : [];
    for (const a of answers) {
      if (!isObject(a)) continue;
      const i = this.answers.get(idText(a['question_id']));
      if (i === undefined) continue;
      put(row, i, text(a['answer']));
      put(row, i + 1, tagsText(a['tags']));
      put(row, i + 2, text(a['comment']));
      put(row, i + 3, text(a['sentiment']));
    }
    return row;
  }

  private addAttribute(name: string): void {
    if (this.attributes.has(name)) return;
    this.attributes.set(name, this.columns.length);
    this.columns.push(unreserved(name));
  }

  private addQuestion(id: string): void {
    if (id === '' || this.answers.has(id)) return;
    const question = unreserved(this.byId.get(id)?.text ?? `Question ${id}`);
    const at = this.columns.length;
    this.answers.set(id, at);
    this.questionAt.set(at, id);
    this.columns.push(question, `${TAGS_FOR}${question}`, `${COMMENT_FOR}${question}`, `${SENTIMENT_FOR}${question}`);
  }
}

/**
 * A user attribute or question named `Number` is named as password mode's export names a second column
 * of that name, "Number (2)": `Number` is the export's own column (always empty in this mode), and a
 * header holding it would be read by Number, as an export, instead of by response_id.
 */
function unreserved(name: string): string {
  return name === NUMBER_COLUMN ? `${NUMBER_COLUMN} (2)` : name;
}
const NUMBER_COLUMN = 'Number';

function put(row: string[], i: number, value: string): void {
  if (value === '') return;
  row[i] = row[i] ? `${row[i] ?? ''}, ${value}` : value;
}

function attributeNames(response: unknown): string[] {
  const list = isObject(response) && Array.isArray(response['user_attributes']) ? response['user_attributes'] : [];
  return list
    .filter(isObject)
    .map((a) => attributeName(a['name']))
    .filter((n) => n !== '');
}

function attributeName(name: unknown): string {
  return typeof name === 'string' ? name : text(name);
}

function answeredIds(response: unknown): string[] {
  const list = isObject(response) && Array.isArray(response['answers']) ? response['answers'] : [];
  return list.filter(isObject).map((a) => idText(a['question_id']));
}

/** An id as text: a string as is, a whole number in decimal; anything else empty. */
export function idText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return '';
}

/** A value as a cell: text as is, numbers and booleans as text, other values as JSON, null/absent empty. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Tags ([{name}] [clients]; plain strings accepted) joined with ", " as the export writes them. */
function tagsText(tags: unknown): string {
  if (tags === null || tags === undefined) return '';
  if (!Array.isArray(tags)) return text(tags);
  return tags
    .map((t) => (isObject(t) && typeof t['name'] === 'string' ? t['name'] : text(t)))
    .filter((t) => t !== '')
    .join(', ');
}
