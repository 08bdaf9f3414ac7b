import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'core.user_survey',
  description: 'Psychographic answers per canonical user: the latest answer to each survey question.',
  owner: 'data-platform',
  tags: ['survey'],
  tests: [{ unique_combination: ['user_key', 'survey', 'question'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    survey: { type: 'text', description: 'Survey name', tests: ['not_null'] },
    question: { type: 'text', description: 'Question key', tests: ['not_null'] },
    answer: { type: 'text', description: 'Answer' },
    responded_at: { type: 'timestamptz', description: 'When answered', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      select distinct on (m.user_key, s.survey, s.question) m.user_key, s.survey, s.question, s.answer, s.responded_at
      from ${ref('staging.stg_survey_responses')} s
      join ${ref('core.user_identity_map')} m on m.identity = s.user_id
      order by m.user_key, s.survey, s.question, s.responded_at desc, s.answer, s.user_id`),
});
