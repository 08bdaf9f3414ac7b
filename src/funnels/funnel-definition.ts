/**
 * The documented schema of a funnel (funnels/*.yml): ordered steps a user takes
 * within a conversion window, each an event name plus an optional condition in
 * the segment rule language over the event's fields and declared properties.
 *
 *   funnels:
 *     - name: trial_to_upgrade            # snake_case, unique across files
 *       title: Trial to upgrade
 *       description: From signup to checkout
 *       owner: growth
 *       conversion_window: 14 days        # from the user's first step-1 event
 *       breakdown: first_week_breadth     # optional: a segment definition
 *       properties: { feature: text }     # event properties the conditions read
 *       steps:
 *         - event: signed_up
 *         - event: feature_used
 *           where: feature = 'reports' and device_type <> 'tablet'
 *         - event: checkout_completed
 */
import { z } from 'zod';

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a snake_case name (letters, digits, _; at most 41 characters)');

export const PROPERTY_TYPES = ['text', 'number', 'boolean'] as const;

export const funnelStep = z
  .object({
    /** Event name, as in core.fct_events.event. */
    event: z.string().min(1).max(200),
    /** Optional label (default: the event name). */
    title: z.string().min(1).max(80).optional(),
    /** Condition on the event (rule language): device_type, os, browser, country, and declared properties. */
    where: z.string().min(1).optional(),
  })
  .strict();

export const funnelDefinition = z
  .object({
    name: identifier,
    title: z.string().min(1).max(80),
    description: z.string().min(1),
    owner: z.string().min(1),
    /** How long after the first step the last may happen: "<n> minutes|hours|days". */
    conversion_window: z.string().regex(/^[1-9]\d{0,3} (minutes?|hours?|days?)$/, 'an interval such as "14 days" or "2 hours"'),
    breakdown: identifier.optional(),
    properties: z.record(identifier, z.enum(PROPERTY_TYPES)).default({}),
    steps: z.array(funnelStep).min(2).max(10),
  })
  .strict();

export const funnelFile = z.object({ funnels: z.array(z.unknown()).min(1) }).strict();

export type FunnelDefinition = z.infer<typeof funnelDefinition> & { file: string };
export type FunnelStep = z.infer<typeof funnelStep>;
