import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'staging.stg_survey_responses',
  description: 'Survey answers, one row per user, survey and question: the latest answer wins (same time: decided by content, not load order).',
  owner: 'data-platform',
  tags: ['survey'],
  tests: [{ unique_combination: ['user_id', 'survey', 'question'] }],
  columns: {
    user_id: { type: 'text', description: 'Respondent', tests: ['not_null'] },
    survey: { type: 'text', description: 'Survey name', tests: ['not_null'] },
    question: { type: 'text', description: 'Question key', tests: ['not_null'] },
    answer: { type: 'text', description: 'Answer as given' },
    responded_at: { type: 'timestamptz', description: 'When the answer was given', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with ranked as (
        select trim(user_id) as user_id, trim(survey) as survey, trim(question) as question, nullif(trim(answer), '') as answer, responded_at,
               row_number() over (partition by trim(user_id), trim(survey), trim(question) order by responded_at desc, answer, response_id, user_id, survey, question) as recency_rank
        from ${ref('raw.survey_responses')}
      )
      select user_id, survey, question, answer, responded_at from ranked where recency_rank = 1`),
});
