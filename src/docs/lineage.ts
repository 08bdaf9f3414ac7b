/**
 * The project's lineage as one graph, from what the project already declares (nothing is
 * parsed out of SQL text): raw tables and models from each model's recorded ref() calls,
 * Cube cubes from their `sql_table`, Cube views from their `join_path`s, segment
 * definitions from features.user_features (their rules' catalog) into the segments models.
 * Pure: the caller reads the files.
 */
import { compileModel } from '../models/model-compiler.ts';
import type { Model } from '../models/model-discovery.ts';
import type { SegmentDefinition } from '../segments/segment-definition.ts';

export type NodeKind = 'raw' | 'model' | 'cube' | 'view' | 'segment';

export interface LineageNode {
  id: string;
  kind: NodeKind;
  label: string;
  /** Longest distance from a source: the column it is drawn in. */
  depth: number;
}

export interface Lineage {
  nodes: LineageNode[];
  edges: { from: string; to: string }[];
  /** Compiled SQL per model (for the docs pages). */
  sql: Map<string, string>;
  upstream(id: string): string[];
  downstream(id: string): string[];
}

export interface CubeFile {
  cubes?: { name: string; sql_table?: string }[];
  views?: { name: string; cubes?: { join_path: string }[] }[];
}

export const nodeId = (kind: NodeKind, name: string) => `${kind}:${name}`;

export function buildLineage(models: Model[], cubeFiles: CubeFile[], segments: SegmentDefinition[], featuresModel: string): Lineage {
  const known = new Set(models.map((m) => m.name));
  const nodes = new Map<string, Omit<LineageNode, 'depth'>>();
  const edges: { from: string; to: string }[] = [];
  const sql = new Map<string, string>();
  const add = (kind: NodeKind, name: string) => {
    const id = nodeId(kind, name);
    if (!nodes.has(id)) nodes.set(id, { id, kind, label: name });
    return id;
  };
  const link = (from: string, to: string) => {
    if (!edges.some((e) => e.from === from && e.to === to)) edges.push({ from, to });
  };
  for (const model of models) {
    const target = add('model', model.name);
    const compiled = compileModel(model, known);
    sql.set(model.name, compiled.sql);
    for (const ref of [...compiled.refs, ...model.dependsOn]) link(add(known.has(ref) ? 'model' : 'raw', ref), target);
  }
  const cubeOfTable = new Map<string, string>();
  for (const file of cubeFiles) {
    for (const cube of file.cubes ?? []) {
      const id = add('cube', cube.name);
      if (cube.sql_table) {
        cubeOfTable.set(cube.sql_table, id);
        link(known.has(cube.sql_table) ? add('model', cube.sql_table) : add('raw', cube.sql_table), id);
      }
    }
  }
  for (const file of cubeFiles) {
    for (const view of file.views ?? []) {
      const id = add('view', view.name);
      for (const path of view.cubes ?? []) for (const cube of path.join_path.split('.')) link(add('cube', cube), id);
    }
  }
  for (const definition of segments) {
    const id = add('segment', definition.name);
    if (known.has(featuresModel)) link(nodeId('model', featuresModel), id);
    // Where the definition is compiled into SQL; everything downstream follows from there.
    const into = definition.kind === 'rfm' ? 'segments.rfm_scores' : definition.kind === 'cluster' ? 'segments.cluster_assignments' : 'segments.current_membership';
    if (known.has(into)) link(id, nodeId('model', into));
  }
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const parents = edges.filter((e) => e.to === id).map((e) => e.from);
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depthOf(p, seen)));
    depth.set(id, d);
    return d;
  };
  const list = [...nodes.values()].map((n) => ({ ...n, depth: depthOf(n.id) }));
  return {
    nodes: list,
    edges,
    sql,
    upstream: (id) => edges.filter((e) => e.to === id).map((e) => e.from),
    downstream: (id) => edges.filter((e) => e.from === id).map((e) => e.to),
  };
}
