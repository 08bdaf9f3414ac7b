/**
 * The DAG of models: edges from ref()/dependsOn, a cycle refused with its path,
 * a stable topological order, and dbt-style selection.
 *
 *   name      the model           tag:x      models tagged x
 *   +name     it and its upstream  layer:x   models under models/x
 *   name+     it and its downstream
 */
import type { Model } from './model-discovery.ts';
import { UserError } from '../errors/user-error.js';
import { didYouMean } from '../errors/nearest-name.ts';

export class ModelGraphError extends UserError {}

export class ModelGraph {
  readonly byName: Map<string, Model>;
  readonly upstream = new Map<string, Set<string>>();
  readonly downstream = new Map<string, Set<string>>();
  /** Every model, upstream before downstream, ties broken by name. */
  readonly order: string[];

  constructor(models: Model[], refs: Map<string, string[]>) {
    this.byName = new Map(models.map((m) => [m.name, m]));
    for (const model of models) {
      this.upstream.set(model.name, new Set());
      this.downstream.set(model.name, new Set());
    }
    for (const model of models) {
      for (const dep of new Set([...model.dependsOn, ...(refs.get(model.name) ?? [])])) {
        if (!this.byName.has(dep)) {
          if (/^(raw|ops)\./.test(dep)) continue; // sources, not models
          throw new ModelGraphError(`${model.file}: ${model.name} depends on "${dep}", which is no model${didYouMean(dep, this.byName.keys())}`);
        }
        this.upstream.get(model.name)!.add(dep);
        this.downstream.get(dep)!.add(model.name);
      }
    }
    this.order = this.topologicalOrder();
  }

  private topologicalOrder(): string[] {
    const state = new Map<string, 'visiting' | 'done'>();
    const order: string[] = [];
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        const cycle = [...path.slice(path.indexOf(name)), name];
        throw new ModelGraphError(`models form a cycle: ${cycle.join(' -> ')}`);
      }
      state.set(name, 'visiting');
      for (const dep of [...this.upstream.get(name)!].sort()) visit(dep, [...path, name]);
      state.set(name, 'done');
      order.push(name);
    };
    for (const name of [...this.byName.keys()].sort()) visit(name, []);
    return order;
  }

  private closure(start: string, edges: Map<string, Set<string>>): Set<string> {
    const out = new Set<string>([start]);
    const stack = [start];
    while (stack.length) for (const next of edges.get(stack.pop()!)!) if (!out.has(next)) (out.add(next), stack.push(next));
    return out;
  }

  /** Models matching one selector term. */
  private matchTerm(term: string): Set<string> {
    if (term.startsWith('tag:')) return new Set([...this.byName.values()].filter((m) => m.tags.includes(term.slice(4))).map((m) => m.name));
    if (term.startsWith('layer:')) return new Set([...this.byName.values()].filter((m) => m.layer === term.slice(6)).map((m) => m.name));
    const up = term.startsWith('+');
    const down = term.endsWith('+');
    const name = term.slice(up ? 1 : 0, down ? -1 : undefined);
    const resolved = this.byName.has(name) ? name : [...this.byName.keys()].find((n) => n.split('.')[1] === name);
    if (!resolved) {
      const hint = didYouMean(name, this.byName.keys());
      throw new ModelGraphError(`no model matches "${term}"${hint || ` (known: ${[...this.byName.keys()].join(', ')})`}`);
    }
    const out = new Set([resolved]);
    if (up) for (const n of this.closure(resolved, this.upstream)) out.add(n);
    if (down) for (const n of this.closure(resolved, this.downstream)) out.add(n);
    return out;
  }

  /** Selected models in run order; no selectors means all. */
  select(selectors: string[] = [], exclude: string[] = []): string[] {
    const chosen = new Set<string>();
    if (selectors.length === 0) for (const n of this.byName.keys()) chosen.add(n);
    for (const term of selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) for (const n of this.matchTerm(term)) chosen.add(n);
    for (const term of exclude.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) for (const n of this.matchTerm(term)) chosen.delete(n);
    return this.order.filter((n) => chosen.has(n));
  }
}
