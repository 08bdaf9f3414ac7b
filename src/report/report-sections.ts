/**
 * The report's sections, in order. Add a section: one module under sections/ exporting a
 * ReportSection (its required members, queries and charts), listed here.
 */
import type { ReportSection } from './report-section.ts';
import { cohortRetention } from './sections/cohort-retention.ts';
import { dailyTrends } from './sections/daily-trends.ts';
import { experimentEffects } from './sections/experiment-effects.ts';
import { funnelSteps } from './sections/funnel.ts';
import { topPaths } from './sections/paths.ts';
import { segmentComparison } from './sections/segment-comparison.ts';
import { segmentMovement } from './sections/segment-movement.ts';

export const REPORT_SECTIONS: ReportSection[] = [segmentComparison, cohortRetention, funnelSteps, topPaths, experimentEffects, segmentMovement, dailyTrends];
