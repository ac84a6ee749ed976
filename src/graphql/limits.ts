// What a query may ask for, checked with the other validation rules, before anything runs: how deep
// its selections nest, and how much it may select (a list's selection counted once per user it may
// return). Fragments are followed (each measured once, so a fragment used a thousand times costs no
// more time to measure) and cycles ignored (GraphQL's own rule refuses them).
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { PAGE_SIZE } from '../domain/pagination.js';
import { queryError } from './errors.js';

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
}

/** How many items a list field may return, by its `first` argument: the default, or the most a variable may ask. */
function listSize(value: ValueNode | undefined): number {
  if (value === undefined || value.kind === Kind.NULL) return PAGE_SIZE.default;
  if (value.kind === Kind.INT) return Math.max(1, Number(value.value));
  return PAGE_SIZE.max;
}

interface Measure {
  depth: number;
  cost: number;
}

/** Depth and cost of a selection set, fragments measured once each. */
function measurer(context: ValidationContext) {
  const fragments = new Map<string, Measure>();
  const measuring = new Set<string>();

  const fragment = (node: FragmentDefinitionNode | null | undefined): Measure => {
    if (!node) return { depth: 0, cost: 0 };
    const name = node.name.value;
    const known = fragments.get(name);
    if (known) return known;
    if (measuring.has(name)) return { depth: 0, cost: 0 };
    measuring.add(name);
    const measure = selections(node.selectionSet);
    measuring.delete(name);
    fragments.set(name, measure);
    return measure;
  };

  const selections = (set: SelectionSetNode): Measure => {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        const children = selection.selectionSet ? selections(selection.selectionSet) : { depth: 0, cost: 0 };
        const first = selection.arguments?.find((a) => a.name.value === 'first');
        const times = first ? listSize(first.value) : 1;
        inner = { depth: children.depth + 1, cost: 1 + times * children.cost };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) inner = selections(selection.selectionSet);
      else inner = fragment(context.getFragment(selection.name.value));
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  };
  return selections;
}

/** The rule that refuses an operation deeper or costlier than `limits`. */
export function queryLimits(limits: QueryLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const measure = measurer(context);
    return {
      OperationDefinition(node) {
        const { depth, cost } = measure(node.selectionSet);
        if (depth > limits.maxDepth) {
          const message = `the query nests ${depth} levels deep; this server serves at most ${limits.maxDepth}`;
          context.reportError(
            new GraphQLError(message, { nodes: node, originalError: queryError(message, 'QUERY_TOO_DEEP') }),
          );
        }
        if (cost > limits.maxComplexity) {
          const message =
            `the query may select ${cost} fields (a list's fields counted once per item its first argument allows); ` +
            `this server serves at most ${limits.maxComplexity}`;
          context.reportError(
            new GraphQLError(message, { nodes: node, originalError: queryError(message, 'QUERY_TOO_COMPLEX') }),
          );
        }
      },
    };
  };
}
