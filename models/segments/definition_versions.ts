import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { definitionHash } from '../../src/segments/definition-hash.ts';

/**
 * Append-only register of what each definition version computes: its content hash
 * (src/segments/definition-hash.ts), recorded by the first build that sees the version.
 * Membership rows carry (definition, version), so this is their hash too. A definition
 * that changed under a version already recorded is refused — and with it
 * segments.current_membership and the history after it — with a message to raise `version`.
 */
export default (project: ProjectContent) => {
  const definitions = project.segments.map((d) => ({ name: d.name, version: d.version, hash: definitionHash(d), file: d.file }));
  const values = (knex: Parameters<Parameters<typeof defineModel>[0]['build']>[0]) =>
    definitions.length
      ? knex.raw(`(values ${definitions.map(() => '(?::text, ?::int, ?::text, ?::text)').join(', ')})`, definitions.flatMap((d) => [d.name, d.version, d.hash, d.file]))
      : knex.raw(`(select null::text, null::int, null::text, null::text where false)`);
  return defineModel({
    name: 'segments.definition_versions',
    description: 'Content hash of every segment definition version, recorded when a build first sees it; a changed definition under a recorded version is refused.',
    owner: 'data-platform',
    tags: ['segments'],
    materialized: 'append',
    tests: [{ unique_combination: ['definition', 'version'] }],
    columns: {
      definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
      version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
      content_hash: { type: 'text', description: 'Hash of what the definition computes (kind, rule / RFM / cluster settings, band names and rules), not of its documentation', tests: ['not_null'] },
      recorded_as_of: { type: 'timestamptz', description: 'Reference time (core.reference_time) of the build that recorded this version', tests: ['not_null'] },
    },
    build: (knex, { ref, appendTo }) =>
      knex.raw(
        `select d.definition, d.version, d.content_hash, r.as_of_at as recorded_as_of
         from ? as d (definition, version, content_hash, file) cross join ${ref('core.reference_time')} r
         ${appendTo ? `where not exists (select 1 from ${appendTo.toQuery()} a where a.definition = d.definition and a.version = d.version)` : ''}`,
        [values(knex)],
      ),
    refuse: (knex, { appendTo }) =>
      appendTo
        ? knex.raw(
            `select format('segment "%s" (%s) computes something else than version %s did when it was recorded: raise its version to %s (or more) so membership starts over under the new version',
                           d.definition, d.file, d.version, (select max(version) + 1 from ${appendTo.toQuery()} m where m.definition = d.definition)) as reason
             from ? as d (definition, version, content_hash, file) join ${appendTo.toQuery()} a using (definition, version)
             where a.content_hash <> d.content_hash order by d.definition`,
            [values(knex)],
          )
        : knex.raw(`select null::text as reason where false`),
  });
};
