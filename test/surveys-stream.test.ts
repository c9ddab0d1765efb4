/**
 * The surveys stream and survey auto-discovery, in-process over the fake source: the driver's own path
 * for the survey list (no pass), its statuses and STATE, its failures, and which surveys a run reads.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, ConfigError } from '../src/core/errors.js';
import { discoverColumns, surveyIdsToRead } from '../src/streams/catalog.js';
import { readStreams } from '../src/streams/driver.js';
import { surveyResponses } from '../src/streams/survey-responses.js';
import { surveysStream } from '../src/streams/surveys.js';
import { FakeSource, RecordingSink, SITE, header, readPlan, row, streamPlan } from './inprocess/fakes.js';

const survey = (n: number) => ({ header: header('Q'), rows: [row({ number: n, date: '2024-01-01 00:00:00', extra: ['a'] })] });

describe('the surveys stream', () => {
  it('is read first, one record per survey this run reads (list order), then STATE {} with the count', async () => {
    const source = new FakeSource({ '11': survey(1), '12': survey(2), '13': survey(3) });
    source.list = [
      { id: '13', fields: { id: '13', name: 'Third', is_enabled: false } },
      { id: '11', fields: { id: '11', name: 'First' } },
      { id: '12', fields: { id: '12', name: 'Second' } },
    ];
    const sink = new RecordingSink();
    await readStreams(
      source,
      readPlan(['11', '13'], [streamPlan(surveysStream, { incremental: false }), streamPlan(surveyResponses)]),
      sink,
    );
    expect(sink.recordsOf('surveys')).toEqual([
      { site_id: SITE, id: '13', name: 'Third', is_enabled: false },
      { site_id: SITE, id: '11', name: 'First' },
    ]);
    expect(sink.statesOf('surveys')).toEqual([{ blob: {}, recordCount: 2 }]);
    expect(sink.statusesOf('surveys')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    expect(sink.events.indexOf('surveys:STATE')).toBeLessThan(sink.events.indexOf('survey_responses:RECORD'));
    expect(sink.recordsOf('survey_responses').map((r) => r['survey_id'])).toEqual(['11', '13']);
    expect(source.listCalls).toBe(1);
  });

  it('selected alone, opens no survey', async () => {
    const source = new FakeSource({ '11': survey(1) });
    const sink = new RecordingSink();
    await readStreams(source, readPlan(['11'], [streamPlan(surveysStream, { incremental: false })]), sink);
    expect(source.opened('11')).toBe(0);
    expect(sink.recordsOf('surveys')).toHaveLength(1);
  });

  it('a list that cannot be read fails that stream only: TRACE, INCOMPLETE, STATE with 0; the responses are read', async () => {
    const source = new FakeSource({ '11': survey(1) });
    source.list = new ConfigError('Hotjar answered the survey list in a shape the connector does not know.');
    const sink = new RecordingSink();
    const result = await readStreams(
      source,
      readPlan(['11'], [streamPlan(surveysStream, { incremental: false }), streamPlan(surveyResponses)]),
      sink,
    );
    expect(sink.failuresOf('surveys').map((e) => e.message)).toEqual([
      'Hotjar answered the survey list in a shape the connector does not know.',
    ]);
    expect(sink.statusesOf('surveys')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    expect(sink.statesOf('surveys')).toEqual([{ blob: {}, recordCount: 0 }]);
    expect(sink.statusesOf('survey_responses')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    expect(sink.recordsOf('survey_responses')).toHaveLength(1);
    expect(result.failures).toEqual([expect.objectContaining({ stream: 'surveys' })]);
  });

  it('a refused log-in while listing ends the run', async () => {
    const source = new FakeSource({ '11': survey(1) });
    source.list = new AuthError('refused');
    const sink = new RecordingSink();
    await expect(
      readStreams(source, readPlan(['11'], [streamPlan(surveysStream, { incremental: false }), streamPlan(surveyResponses)]), sink),
    ).rejects.toThrow(AuthError);
    expect(sink.statusesOf('surveys')).toEqual(['STARTED', 'INCOMPLETE']);
    expect(source.opened('11')).toBe(0);
  });
});

describe('which surveys a run reads', () => {
  it('the configured ids as given (no list asked for), else every survey the site lists', async () => {
    const source = new FakeSource({ '11': survey(1), '12': survey(2) });
    expect(await surveyIdsToRead(source, ['12'])).toEqual(['12']);
    expect(source.listCalls).toBe(0);
    expect(await surveyIdsToRead(source, [])).toEqual(['11', '12']);
    source.list = [];
    await expect(surveyIdsToRead(source, [])).rejects.toThrow(/lists no survey.*survey_ids/);
    source.list = new ConfigError('no list');
    await expect(surveyIdsToRead(source, [])).rejects.toThrow('no list');
  });

  it('API-key mode declares Number (always empty) and its own columns among the fixed ones', async () => {
    const source = new FakeSource({ '11': survey(1) });
    const api = await discoverColumns(source, ['11'], { mode: 'api_key' });
    const pw = await discoverColumns(source, ['11'], { mode: 'password' });
    expect(api).toEqual(expect.arrayContaining([...pw, 'response_id', 'is_complete', 'recording_url']));
  });
});
