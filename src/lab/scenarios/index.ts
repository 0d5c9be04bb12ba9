/** Every lab scenario, for `fedcheck demo --list`, the tests and the docs. */
import type { Scenario } from '../scenario-types.js';
import { discoveryScenarios } from './discovery.js';
import { addressScenarios } from './addresses.js';
import { clientScenarios } from './client.js';
import { compatibilityScenarios } from './compatibility.js';
import { hostileScenarios } from './hostile.js';

export const scenarios: Scenario[] = [...discoveryScenarios, ...addressScenarios, ...clientScenarios, ...compatibilityScenarios, ...hostileScenarios];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
