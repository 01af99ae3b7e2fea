import type { Config, LlmApi } from "../config/schema.ts";
import type { Provider } from "./provider.ts";

/** One place a model can be served: a provider, the model's name there, and how long to wait. */
export interface Deployment {
  provider: Provider;
  /** The model's name at the provider. */
  model: string;
  weight: number;
  timeoutMs: number;
  idleTimeoutMs: number;
}

interface Candidates {
  deployments: readonly Deployment[];
  totalWeight: number;
}

/**
 * The routing table: model name -> deployments, precomputed per client API at start so a request only
 * draws a random number. The first deployment is drawn by weight; the others follow in configured
 * order as fallbacks. A deployment of weight 0 is a standby: only ever a fallback.
 */
export class ModelRoutes {
  private readonly routes = new Map<string, Map<LlmApi, Candidates>>();
  private readonly ownership = new Map<string, string>();

  constructor(models: Config["llm"]["models"], providers: ReadonlyMap<string, Provider>) {
    for (const [name, route] of Object.entries(models)) {
      const deployments: Deployment[] = route.deployments.map((d) => {
        const provider = providers.get(d.provider);
        if (provider === undefined) throw new Error(`model ${name}: unknown provider ${d.provider}`);
        return { provider, model: d.model ?? name, weight: d.weight, timeoutMs: d.timeout, idleTimeoutMs: d.idle_timeout };
      });
      const byApi = new Map<LlmApi, Candidates>();
      for (const api of ["chat", "responses", "embeddings", "messages"] as const) {
        const serving = deployments.filter((d) => d.provider.serves(api));
        if (serving.length > 0) {
          byApi.set(api, { deployments: serving, totalWeight: serving.reduce((sum, d) => sum + d.weight, 0) });
        }
      }
      this.routes.set(name, byApi);
      this.ownership.set(name, route.owned_by ?? deployments[0]?.provider.name ?? "tollgate");
    }
  }

  has(model: string): boolean {
    return this.routes.has(model);
  }

  /** Model names in configuration order. */
  names(): string[] {
    return [...this.routes.keys()];
  }

  ownedBy(model: string): string {
    return this.ownership.get(model) ?? "tollgate";
  }

  /** The client APIs that a model can be called through. */
  apis(model: string): LlmApi[] {
    return [...(this.routes.get(model)?.keys() ?? [])];
  }

  /** The deployments to try for one request, in order; empty when none serves the API. */
  plan(model: string, api: LlmApi, random: () => number = Math.random): Deployment[] {
    const candidates = this.routes.get(model)?.get(api);
    if (candidates === undefined) return [];
    const { deployments, totalWeight } = candidates;
    if (deployments.length === 1 || totalWeight === 0) return [...deployments];
    const first = drawByWeight(deployments, random() * totalWeight);
    if (first === 0) return [...deployments];
    return [deployments[first] as Deployment, ...deployments.filter((_, i) => i !== first)];
  }
}

/**
 * The index whose weight band holds `draw` (0 <= draw < total weight). Falls back to the last deployment
 * with a positive weight, so that a random source at its upper bound (or rounding) can never put a
 * standby of weight 0 first.
 */
function drawByWeight(deployments: readonly Deployment[], draw: number): number {
  let left = draw;
  let lastWeighted = 0;
  for (let i = 0; i < deployments.length; i++) {
    const weight = (deployments[i] as Deployment).weight;
    if (weight <= 0) continue;
    lastWeighted = i;
    left -= weight;
    if (left < 0) return i;
  }
  return lastWeighted;
}
