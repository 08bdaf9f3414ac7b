/**
 * The report reads only the semantic API, with a token: it sees what the token's holder
 * may see (rows by claim, hidden members absent from /v1/meta), like any consumer.
 */
import { UserError } from '../errors/user-error.js';

export interface MetaMember {
  name: string;
  title: string;
  shortTitle?: string;
  type: string;
}

export interface MetaView {
  name: string;
  title: string;
  description?: string;
  measures: MetaMember[];
  dimensions: MetaMember[];
  /** Cube 0.33 names the cube member a view member comes from. */
  aliasOf: Record<string, string>;
}

export type Row = Record<string, string | number | boolean | null>;

export interface CubeQuery {
  measures?: string[];
  dimensions?: string[];
  timeDimensions?: { dimension: string; granularity?: string; dateRange?: string | string[] }[];
  filters?: { member: string; operator: string; values?: string[] }[];
  order?: Record<string, 'asc' | 'desc'>;
  limit?: number;
}

/** The API refused a query (a token it rejects, claims it refuses): printed without a stack. */
export class ReportApiError extends UserError {}

export interface ReportApi {
  meta(): Promise<Map<string, MetaView>>;
  load(query: CubeQuery): Promise<Row[]>;
}

/** A client on `apiUrl` (…/cubejs-api/v1). Waits out Cube's "Continue wait" answers. */
export function reportApi(apiUrl: string, token: string): ReportApi {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  async function call(path: string, body?: unknown): Promise<any> {
    for (let attempt = 0; attempt < 120; attempt++) {
      const response = await fetch(`${apiUrl}${path}`, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
      const json = (await response.json().catch(() => ({}))) as { error?: string };
      if (response.ok && json.error === 'Continue wait') continue;
      if (!response.ok || json.error) throw new ReportApiError(`${path}: ${response.status} ${json.error ?? response.statusText}`);
      return json;
    }
    throw new ReportApiError(`${path}: the API kept answering "Continue wait"`);
  }
  return {
    async meta() {
      const { cubes } = (await call('/meta')) as { cubes: any[] };
      return new Map(cubes.map((cube) => {
        const members = [...cube.measures, ...cube.dimensions];
        return [cube.name, {
          name: cube.name, title: cube.title, description: cube.description, measures: cube.measures, dimensions: cube.dimensions,
          aliasOf: Object.fromEntries(members.filter((m: any) => m.aliasMember).map((m: any) => [m.name, m.aliasMember])),
        } satisfies MetaView];
      }));
    },
    async load(query) {
      const { data } = (await call('/load', { query })) as { data: Row[] };
      return data;
    },
  };
}
