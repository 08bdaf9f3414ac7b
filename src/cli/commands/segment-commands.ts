/** `seglayer segments ls | show | validate | preview | features | cube`: segments as code. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { UserError } from '../../errors/user-error.js';
import type { Project } from '../../project/project.ts';
import { loadProject } from '../../project/project-loader.ts';
import { definitionHash } from '../../segments/definition-hash.ts';
import { checkEventReferences, eventCatalogBuilt } from '../../segments/event-references.ts';
import { SegmentDefinitionError } from '../../segments/segment-files.ts';
import { asOfInstant, membersAsOf } from '../../segments/membership-as-of.ts';
import { segmentMembers } from '../../segments/segment-sql.ts';
import { segmentFeatures } from '../../segments/trait-definitions.ts';
import { SEGMENT_CUBE_FILE, segmentCubeIsCurrent, writeSegmentCube } from '../../segments/segment-cube.ts';
import { refreshPolicy, type SegmentDefinition } from '../../segments/segment-definition.ts';
import { withSession } from '../session.ts';
import { bold, count, dim, green, say, table } from '../../terminal/terminal-output.ts';

export class SegmentCommandError extends UserError {}

/** The project of this command, loaded once (models, segment definitions, feature catalog). */
const project = (): Promise<Project> => loadProject(loadConfig());

function find(definitions: SegmentDefinition[], name: string): SegmentDefinition {
  const found = definitions.find((d) => d.name === name);
  if (!found) throw new SegmentCommandError(`no segment "${name}"; known: ${definitions.map((d) => d.name).join(', ')}`);
  return found;
}

export function registerSegmentCommands(program: Command): void {
  const segments = program.command('segments').description(`segments defined as code in ${'segments/*.yml'}`);

  segments.command('ls').description('list the segment definitions').action(async () => {
    const definitions = (await project()).segments;
    say(table([['name', 'kind', 'family', 'version', 'refresh', 'owner', 'title'], ...definitions.map((d) => [d.name, d.kind, d.family, d.version, refreshPolicy(d), d.owner, d.title])]));
  });

  segments.command('show <name>').description('a definition in full, with the SQL it compiles to').action(async (name: string) => {
    const { segments: definitions, featureCatalog, traits } = await project();
    const d = find(definitions, name);
    say(`${bold(d.name)} (${d.kind}, ${d.family}, version ${d.version}) ${dim(d.file)}`);
    for (const [label, value] of [['title', d.title], ['owner', d.owner], ['description', d.description], ['hypothesis', d.hypothesis], ['refresh', refreshPolicy(d)]] as const) say(`  ${label.padEnd(12)} ${value}`);
    if (d.kind === 'rule') say(`  ${'rule'.padEnd(12)} ${d.rule}`);
    if (d.kind === 'rfm') for (const band of d.rfm.bands) say(`  band ${band.name.padEnd(20)} ${band.rule}`);
    if (d.kind === 'cluster') say(`  ${'cluster'.padEnd(12)} k=${d.cluster.k} seed=${d.cluster.seed} iterations=${d.cluster.iterations} over ${d.cluster.features.join(', ')}`);
    const { sql, bindings } = segmentMembers(d, segmentFeatures(traits, (relation) => relation), featureCatalog.catalog);
    say(bold('\nSQL') + dim(' (values are bindings)'));
    say(sql.replace(/^\s*\n/, ''));
    say(dim(`bindings: ${JSON.stringify(bindings)}`));
  });

  segments.command('validate').description('check every definition, then that the generated Cube model is current').action(async () => {
    const config = loadConfig();
    // Loading the project validates every definition first (all problems, file:line:column).
    const { segments: definitions, featureCatalog } = await loadProject(config);
    say(`${green('✓')} ${definitions.length} segment definitions valid in ${config.SEGLAYER_SEGMENTS_DIR}/`);
    // Each definition with the content hash a build records for its version (segments.definition_versions).
    for (const d of definitions) say(`  ${green('✓')} ${d.name} ${dim(`${d.kind}, version ${d.version}, content ${definitionHash(d)}, ${d.file}`)}`);
    // Event and property names need the warehouse's event catalog: checked when one is built.
    await withSession(async ({ knex }) => {
      if (!(await eventCatalogBuilt(knex))) return say(dim('event names not checked: core.event_catalog is not built yet'));
      const issues = await checkEventReferences(knex, definitions, featureCatalog.catalog, config.projectRoot);
      if (issues.length > 0) throw new SegmentDefinitionError(issues);
      say(`${green('✓')} every event and property the rules name is in core.event_catalog`);
    });
    say('generated Cube model:');
    if (!segmentCubeIsCurrent(config.projectRoot, definitions)) {
      throw new SegmentCommandError(`${SEGMENT_CUBE_FILE} does not match segments/: run \`npm run seglayer -- segments cube\` (or build) and commit it`);
    }
    say(`${green('✓')} ${SEGMENT_CUBE_FILE} is current`);
  });

  segments.command('cube').description(`write ${SEGMENT_CUBE_FILE} from the definitions`).action(async () => {
    const { root, segments: definitions } = await project();
    const changed = writeSegmentCube(root, definitions);
    say(changed ? `${green('✓')} wrote ${SEGMENT_CUBE_FILE}` : `${SEGMENT_CUBE_FILE} is already current`);
  });

  segments.command('features').description('the features rules can use, with types').action(async () => {
    const { featureCatalog } = await project();
    say(table([['feature', 'type', 'description'], ...featureCatalog.features.map((f) => [f.name, f.type, f.description])]));
  });

  segments
    .command('members <name>')
    .description('members of a segment now, or as of a past reference time from the membership history (--as-of 2026-03-01 or a timestamp)')
    .option('--as-of <time>', 'a date (every build whose reference time is on or before that day, UTC) or a timestamp')
    .option('--limit <n>', 'members to list', (v) => Number(v), 20)
    .action(async (name: string, flags: { asOf?: string; limit: number }) => {
      await withSession(async ({ knex, config }) => {
        const d = find((await loadProject(config)).segments, name);
        let at: string;
        try {
          at = flags.asOf ? asOfInstant(flags.asOf) : 'infinity';
        } catch (error) {
          throw new SegmentCommandError((error as Error).message);
        }
        const { rows: ready } = await knex.raw(`select to_regclass('segments.membership_history') is not null as ok`);
        if (!ready[0].ok) throw new SegmentCommandError('segments.membership_history is not built yet: run `npm run seglayer -- build`');
        const { sql, bindings } = membersAsOf(d.name, at);
        const { rows: sizes } = await knex.raw(`select segment, count(*)::int as n from (${sql}) m group by 1 order by 1`, bindings);
        const { rows: list } = await knex.raw(`select segment, user_key, since from (${sql}) m order by segment, user_key limit ?`, [...bindings, flags.limit]);
        say(bold(d.name) + dim(flags.asOf ? ` as of ${at} (from segments.membership_history)` : ' now (from segments.membership_history)'));
        say(table([['segment', 'members'], ...sizes.map((s: { segment: string; n: number }) => [s.segment, count(s.n)])]));
        if (list.length) say(`\n${table([['segment', 'user_key', 'in since'], ...list.map((r: { segment: string; user_key: string; since: Date }) => [r.segment, r.user_key, r.since.toISOString()])])}`);
      });
    });

  segments
    .command('preview <name>')
    .description('size, sample members and SQL of a segment, computed now from features.user_features (and the events, for event predicates), without materializing')
    .option('--sample <n>', 'sample users to show', (v) => Number(v), 5)
    .action(async (name: string, flags: { sample: number }) => {
      await withSession(async ({ knex, config }) => {
        const { segments: definitions, featureCatalog, traits } = await loadProject(config);
        const d = find(definitions, name);
        const { rows: ready } = await knex.raw(`select to_regclass('features.user_features') is not null and to_regclass('features.user_traits') is not null as ok`);
        if (!ready[0].ok) throw new SegmentCommandError('features.user_features is not built yet: run `npm run seglayer -- build +features.user_features +features.user_traits`');
        if (await eventCatalogBuilt(knex)) {
          const issues = await checkEventReferences(knex, [d], featureCatalog.catalog, config.projectRoot);
          if (issues.length > 0) throw new SegmentDefinitionError(issues);
        }
        const { sql, bindings } = segmentMembers(d, segmentFeatures(traits, (relation) => relation), featureCatalog.catalog);
        const { rows: total } = await knex.raw(`select count(*)::int as n from features.user_features`);
        const { rows: sizes } = await knex.raw(`select segment, count(*)::int as n from (${sql}) m group by 1 order by 1`, bindings);
        const { rows: sample } = await knex.raw(
          `select m.segment, f.user_key, f.country, f.plan, f.frequency, f.monetary_usd, f.active_days
           from (${sql}) m join features.user_features f using (user_key) order by md5(f.user_key) limit ?`,
          [...bindings, flags.sample],
        );
        say(bold(`${d.name}`) + dim(` (${d.kind}, refresh: ${refreshPolicy(d)}) of ${count(total[0].n)} users`));
        say(table([['segment', 'members', 'share'], ...sizes.map((s: { segment: string; n: number }) => [s.segment, count(s.n), `${((100 * s.n) / Math.max(1, total[0].n)).toFixed(1)}%`])]));
        if (sample.length) say(`\n${table([Object.keys(sample[0]), ...sample.map((r: Record<string, unknown>) => Object.values(r).map((v) => (v === null ? '' : String(v))))])}`);
        // The SQL it ran (event predicates included: their scans of core.fct_events / core.fct_outcomes), values bound.
        say(bold('\nSQL') + dim(' (values are bindings)'));
        say(sql.replace(/^\s*\n/, ''));
        say(dim(`bindings: ${JSON.stringify(bindings)}`));
      });
    });
}

