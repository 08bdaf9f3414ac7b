/** `seglayer events ls [event]`: the event catalog rules are checked against. */
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.js';
import { eventCatalogBuilt } from '../../segments/event-references.ts';
import { withSession } from '../session.ts';
import { bold, count, dim, say, table } from '../../terminal/terminal-output.ts';

const day = (t: Date) => t.toISOString().slice(0, 10);

interface CatalogRow { event: string; events: string; users: string; first_seen_at: Date; last_seen_at: Date }
interface PropertyRow { event: string; property: string; json_type: string; events: string; examples: string | null }

export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('the events the warehouse has seen (core.event_catalog), for event predicates in segment rules');

  events
    .command('ls [event]')
    .description('every event with its count, users, first and last seen; with an event name, its properties, observed types and example values')
    .action(async (event: string | undefined) => {
      await withSession(async ({ knex }) => {
        if (!(await eventCatalogBuilt(knex))) throw new UserError('the event catalog is not built yet: run `npm run seglayer -- build +core.event_properties`');
        const catalog: CatalogRow[] = (await knex.raw(`select event, events, users, first_seen_at, last_seen_at from core.event_catalog ${event ? 'where event = ?' : ''} order by events desc, event`, event ? [event] : [])).rows;
        if (event && catalog.length === 0) throw new UserError(`no event '${event}' in core.event_catalog`);
        const properties: PropertyRow[] = (await knex.raw(`select event, property, json_type, events, examples from core.event_properties ${event ? 'where event = ?' : ''} order by event, property, json_type`, event ? [event] : [])).rows;
        const byEvent = new Map<string, string[]>();
        for (const p of properties) byEvent.set(p.event, [...(byEvent.get(p.event) ?? []), `${p.property}:${p.json_type}`]);
        if (!event) {
          say(table([['event', 'events', 'users', 'first seen', 'last seen', 'properties'],
            ...catalog.map((c) => [c.event, count(Number(c.events)), count(Number(c.users)), day(c.first_seen_at), day(c.last_seen_at), (byEvent.get(c.event) ?? []).join(', ')])]));
          return;
        }
        const c = catalog[0]!;
        say(`${bold(event)} ${count(Number(c.events))} events by ${count(Number(c.users))} users, ${day(c.first_seen_at)} to ${day(c.last_seen_at)}`);
        say(table([['property', 'type', 'events', 'examples'], ...properties.map((p) => [p.property, p.json_type, count(Number(p.events)), p.examples ?? ''])]));
        say(dim(`\nin a rule: performed('${event}', where: <property> = <value>) >= 1 in last 14 days`));
      });
    });
}
