/**
 * One report section = one module: the API queries it needs and the charts it draws.
 * Sections are listed in report-sections.ts; a section whose views or members are not in
 * /v1/meta (a mart not built yet, a member the token's role may not see) renders a visible
 * "not available" note naming what is missing instead of failing the report.
 */
import type { SegmentColumn } from '../segments/segment-cube.ts';
import type { Chart } from './chart-svg.ts';
import type { CubeQuery, MetaView, ReportApi, Row } from './report-api.ts';

export interface SectionContext {
  api: ReportApi;
  meta: Map<string, MetaView>;
  /** Segment columns of the project's definitions (user_value.<column>). */
  segmentColumns: SegmentColumn[];
}

/** The figures behind the charts, printed as a table under them (and checked by the tests). */
export interface FigureTable {
  id: string;
  caption: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface SectionOutput {
  charts: Chart[];
  tables: FigureTable[];
  notes: string[];
}

export interface ReportSection {
  id: string;
  title: string;
  /** What the section shows and how to read it. */
  description: string;
  /** Members (`view.member`) the section cannot do without. */
  requires: string[];
  render(context: SectionContext): Promise<SectionOutput>;
}

/** Members of `requires` that /v1/meta does not list for this token. */
export function missingMembers(meta: Map<string, MetaView>, requires: string[]): string[] {
  return requires.filter((member) => {
    const view = meta.get(member.split('.')[0]!);
    return !view || ![...view.measures, ...view.dimensions].some((m) => m.name === member);
  });
}

/** A query naming members only: each goes where /v1/meta says it belongs (measure or dimension). */
export function queryOf(meta: Map<string, MetaView>, members: string[], rest: Omit<CubeQuery, 'measures' | 'dimensions'> = {}): CubeQuery {
  const isMeasure = (name: string) => meta.get(name.split('.')[0]!)?.measures.some((m) => m.name === name) ?? false;
  return { ...rest, measures: members.filter(isMeasure), dimensions: members.filter((m) => !isMeasure(m)) };
}

export const num = (value: Row[string] | undefined) => (value === null || value === undefined ? 0 : Number(value));
export const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');
export const count = (value: number) => value.toLocaleString('en-US');
